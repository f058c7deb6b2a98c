"""Contract governance (§8): recorded shapes, data-independence, documented routes.

None of these tests touches the database: contract functions are pure.
"""

import io
import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from drf_spectacular.generators import SchemaGenerator

from autom8_site.openapi import openapi_schema
from contract.cases import CASES, current_shapes
from contract.snapshot import (
    ROUTES,
    SNAPSHOT_PATH,
    ShapeMismatch,
    compare,
    dumps,
    merge_shapes,
    route_key,
    shape_of,
    shape_of_samples,
)
from tests.servers import BASE_DIR, process_env

COMMAND_MODULE = "security.management.commands.contract_snapshot"


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def schema_routes(schema) -> set[str]:
    return {
        route_key(method, path)
        for path, operations in schema["paths"].items()
        for method in operations
    }


class TestRecordedShapes:
    @pytest.mark.parametrize("name", sorted(CASES))
    def test_shape_is_the_same_for_full_and_empty_samples(self, name):
        case = CASES[name]

        shape = shape_of_samples(case.samples(), maps=case.maps)

        assert shape

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_shape_matches_the_snapshot(self, name, recorded):
        case = CASES[name]

        problems = compare(
            {name: recorded.get(name)},
            {name: shape_of_samples(case.samples(), maps=case.maps)},
        )

        assert problems == [], "\n".join(problems)

    def test_every_recorded_shape_still_has_a_case(self, recorded):
        assert sorted(set(recorded) - set(CASES)) == []

    def test_every_shape_a_route_answers_is_recorded(self, recorded):
        answered = {shape for _status, shape in ROUTES.values() if shape}

        assert sorted(answered - set(recorded)) == []


class TestDocumentedRoutes:
    @pytest.mark.parametrize("route", sorted(ROUTES))
    def test_route_is_in_the_openapi_schema(self, route, schema_routes):
        method, path = route.split(" ", 1)

        assert route_key(method, path) in schema_routes


class TestOpenApiBodies:
    def test_a_routes_success_body_is_documented_from_its_recorded_shape(
        self, schema, recorded
    ):
        response = schema["paths"]["/api/v1/health"]["get"]["responses"]["200"]
        component = schema["components"]["schemas"]["Health"]

        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Health"
        }
        assert list(component["properties"]) == list(recorded["health"])

    def test_errors_are_documented_with_the_envelope(self, schema, recorded):
        response = schema["paths"]["/api/v1/info"]["get"]["responses"]["default"]
        component = schema["components"]["schemas"]["Error"]

        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
        assert component["required"] == list(recorded["error"])

    def test_a_nullable_field_is_documented_as_nullable(self):
        schema = openapi_schema({"email": "str|null"})

        assert schema["properties"]["email"] == {"type": "string", "nullable": True}
        assert schema["required"] == ["email"]

    def test_a_map_is_documented_with_additional_properties(self):
        schema = openapi_schema({"*": ["str"]})

        assert schema == {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }


class TestCompare:
    def test_a_removed_field_is_reported(self):
        problems = compare({"c": {"id": "int", "name": "str"}}, {"c": {"id": "int"}})

        assert problems == ["c.name was removed or renamed"]

    def test_a_renamed_field_is_reported_as_removed_and_added(self):
        problems = compare({"c": {"name": "str"}}, {"c": {"full_name": "str"}})

        assert "c.name was removed or renamed" in problems
        assert any(p.startswith("c.full_name was added") for p in problems)

    def test_a_retyped_field_is_reported(self):
        problems = compare({"c": {"id": "int"}}, {"c": {"id": "str"}})

        assert problems == ['c.id changed type: "int" -> "str"']

    def test_a_field_becoming_nullable_is_a_type_change(self):
        problems = compare({"c": {"email": "str"}}, {"c": {"email": "str|null"}})

        assert problems == ['c.email changed type: "str" -> "str|null"']

    def test_a_retyped_nested_field_is_reported_with_its_path(self):
        problems = compare(
            {"l": {"items": [{"id": "int"}]}}, {"l": {"items": [{"id": "float"}]}}
        )

        assert problems == ['l.items[].id changed type: "int" -> "float"']

    def test_a_removed_shape_is_reported(self):
        problems = compare({"a": {"x": "int"}, "b": {"y": "int"}}, {"a": {"x": "int"}})

        assert problems == ["shape 'b' was removed"]

    def test_identical_snapshots_have_no_problems(self):
        shapes = {"a": {"x": "int", "y": [{"z": "str|null"}], "m": {"*": ["str"]}}}

        assert compare(shapes, json.loads(dumps(shapes))) == []


class TestShapeOf:
    def test_scalars_are_recorded_by_json_type(self):
        shape = shape_of({"s": "x", "i": 1, "f": 1.5, "b": True, "n": None})

        assert shape == {"s": "str", "i": "int", "f": "float", "b": "bool", "n": "null"}

    def test_nested_objects_and_lists_are_recorded(self):
        shape = shape_of({"meta": {"total": 2}, "items": [{"id": 1}, {"id": 2}]})

        assert shape == {"meta": {"total": "int"}, "items": [{"id": "int"}]}

    def test_a_map_records_the_type_of_its_values_not_its_keys(self):
        shape = shape_of(
            {"details": {"phone": ["bad"], "name": ["short"]}}, maps={"details"}
        )

        assert shape == {"details": {"*": ["str"]}}

    def test_null_in_one_sample_makes_the_field_nullable(self):
        shape = shape_of_samples([{"email": "a@example.com"}, {"email": None}])

        assert shape == {"email": "str|null"}

    def test_an_empty_list_takes_the_item_shape_of_a_full_one(self):
        shape = shape_of_samples([{"logs": []}, {"logs": [{"id": 1}]}])

        assert shape == {"logs": [{"id": "int"}]}

    def test_a_key_present_in_only_one_sample_is_a_data_dependent_shape(self):
        with pytest.raises(ShapeMismatch, match=r"keys \['email'\]"):
            shape_of_samples([{"id": 1, "email": "a@example.com"}, {"id": 2}])

    def test_int_in_one_sample_and_float_in_another_is_a_data_dependent_shape(self):
        with pytest.raises(ShapeMismatch, match="success_rate: float and int"):
            merge_shapes({"success_rate": "float"}, {"success_rate": "int"})

    def test_an_object_in_one_sample_and_a_string_in_another_is_refused(self):
        with pytest.raises(
            ShapeMismatch, match="an object in one sample, str in another"
        ):
            shape_of_samples([{"user": {"id": 1}}, {"user": "x"}])


class TestSnapshotCommand:
    def test_write_records_the_current_shapes(self, tmp_path, monkeypatch):
        target = tmp_path / "snapshot.json"
        monkeypatch.setattr(f"{COMMAND_MODULE}.SNAPSHOT_PATH", target)

        call_command("contract_snapshot", "--write", stdout=io.StringIO())

        assert json.loads(target.read_text()) == current_shapes()

    def test_check_fails_naming_the_changed_field(self, tmp_path, monkeypatch):
        target = tmp_path / "snapshot.json"
        shapes = current_shapes()
        shapes["health"]["status"] = "int"
        target.write_text(dumps(shapes))
        monkeypatch.setattr(f"{COMMAND_MODULE}.SNAPSHOT_PATH", target)

        with pytest.raises(
            CommandError, match=r'health.status changed type: "int" -> "str"'
        ):
            call_command("contract_snapshot", stdout=io.StringIO())

    def test_check_passes_on_the_committed_snapshot(self):
        out = io.StringIO()

        call_command("contract_snapshot", stdout=out)

        assert "shapes match" in out.getvalue()


_WITHOUT_TEST_TOOLS = """
import sys
sys.modules["factory"] = None  # the dev-only factory_boy, absent in production
sys.modules["tests"] = None
import django
django.setup()
from django.core.management import call_command
call_command("contract_snapshot")
"""


def test_the_snapshot_command_needs_neither_the_tests_nor_factory_boy():
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TEST_TOOLS],
        cwd=BASE_DIR,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "shapes match" in done.stdout
