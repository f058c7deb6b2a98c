"""The OpenAPI document: named components, formats, enums, errors per status.

None of these tests touches the database: the schema is built from the
views, the contract snapshot and the definitions that validate.
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from autom8_site.openapi import DISCOVERY_ZONE, FIELD_ENUMS, TIMESTAMP_FIELDS, ZONES
from contacts.validation import NAME_MAX_LENGTH, NAME_MIN_LENGTH
from contract.cases import CASES
from contract.snapshot import ROUTES, route_key

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield route_key(method, path), operation


def _operation(schema: dict, route: str) -> dict:
    return dict(_operations(schema))[route_key(*route.split(" ", 1))]


def _walk(value, at: str = ""):
    """Every (dotted path, scalar) of a JSON value; list items share a path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{at}.{key}".lstrip("."))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, at)
    else:
        yield at, value


class TestDocument:
    def test_schema_is_a_valid_openapi_document(self, schema):
        validate(schema)

    def test_every_operation_has_a_summary(self, schema):
        missing = [route for route, op in _operations(schema) if not op.get("summary")]

        assert missing == []

    def test_every_operation_is_tagged_with_its_zone(self, schema):
        zones = {zone for _prefix, zone in ZONES} | {DISCOVERY_ZONE}

        tags = {tag for _route, op in _operations(schema) for tag in op["tags"]}

        assert tags == zones

    def test_operation_ids_are_unique(self, schema):
        ids = [op["operationId"] for _route, op in _operations(schema)]

        assert len(ids) == len(set(ids))


class TestComponents:
    @pytest.mark.parametrize("route", sorted(ROUTES))
    def test_json_bodies_are_named_components(self, schema, route):
        operation = _operation(schema, route)
        bodies = [
            content["schema"]
            for part in [
                operation.get("requestBody", {}),
                *operation["responses"].values(),
            ]
            for media_type, content in part.get("content", {}).items()
            if media_type == "application/json"
        ]

        assert bodies
        assert all(set(body) == {"$ref"} for body in bodies)

    def test_timestamps_have_the_date_time_format(self, schema):
        contact = schema["components"]["schemas"]["Contact"]

        assert contact["properties"]["created_at"]["format"] == "date-time"
        assert "format" not in contact["properties"]["name"]

    def test_ids_are_integers(self, schema):
        log = schema["components"]["schemas"]["TaskLog"]

        assert log["properties"]["id"]["type"] == "integer"

    def test_a_listing_refers_to_its_item_component(self, schema):
        listing = schema["components"]["schemas"]["TaskLogList"]

        assert listing["properties"]["logs"]["items"] == {
            "$ref": "#/components/schemas/TaskLog"
        }

    def test_task_log_status_lists_every_status_queued_included(self, schema):
        status = schema["components"]["schemas"]["TaskLog"]["properties"]["status"]

        assert "queued" in status["enum"]

    def test_a_nullable_enum_lists_null(self, schema):
        status = schema["components"]["schemas"]["Task"]["properties"]["status"]

        assert status["nullable"] is True
        assert status["enum"][-1] is None

    def test_contact_request_body_follows_the_validation_rules(self, schema):
        body = schema["components"]["schemas"]["ContactCreateRequest"]

        assert body["properties"]["name"]["minLength"] == NAME_MIN_LENGTH
        assert body["properties"]["name"]["maxLength"] == NAME_MAX_LENGTH
        assert body["required"] == ["name", "phone"]
        assert body["properties"]["email"]["nullable"] is True

    def test_contact_update_body_requires_nothing(self, schema):
        body = schema["components"]["schemas"]["ContactUpdateRequest"]

        assert "required" not in body

    def test_contact_sort_parameter_lists_the_sortable_fields(self, schema):
        parameters = _operation(schema, "GET /api/v1/contacts")["parameters"]

        sort = next(p for p in parameters if p["name"] == "sort")

        assert sort["schema"]["enum"] == ["id", "name", "created_at", "updated_at"]

    def test_task_log_limit_has_the_selectors_bounds(self, schema):
        parameters = _operation(schema, "GET /api/v1/task_logs")["parameters"]

        limit = next(p for p in parameters if p["name"] == "limit")

        assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)

    def test_string_query_parameters_may_not_be_empty(self, schema):
        parameters = _operation(schema, "GET /api/v1/contacts")["parameters"]

        name = next(p for p in parameters if p["name"] == "name")

        assert name["schema"]["minLength"] == 1


class TestFieldRulesMatchTheShapingCode:
    @pytest.mark.parametrize("name", sorted(CASES))
    def test_a_string_is_a_timestamp_exactly_when_its_field_says_so(self, name):
        wrong = [
            (at, value)
            for sample in CASES[name].samples()
            for at, value in _walk(sample)
            if isinstance(value, str)
            and bool(ISO_UTC.match(value))
            != (at.rsplit(".", 1)[-1] in TIMESTAMP_FIELDS)
        ]

        assert wrong == []

    @pytest.mark.parametrize("field", sorted(FIELD_ENUMS))
    def test_sampled_values_are_in_the_documented_enum(self, field):
        shape, at = field.split(".", 1)
        values = {
            value
            for sample in CASES[shape].samples()
            for path, value in _walk(sample)
            if path == at
        }

        assert values
        assert values <= {*FIELD_ENUMS[field], None}


class TestErrors:
    @pytest.mark.parametrize(
        ("route", "statuses"),
        [
            (
                "POST /api/v1/contacts",
                {"400", "401", "403", "409", "413", "415", "429", "503"},
            ),
            ("GET /api/v1/task_logs/{id}", {"400", "401", "403", "404", "429", "503"}),
            ("POST /api/v1/auth/token", {"400", "401", "413", "415", "429", "503"}),
            ("GET /api/v1/info", {"400", "503"}),
        ],
    )
    def test_each_possible_error_status_has_the_envelope(self, schema, route, statuses):
        responses = _operation(schema, route)["responses"]

        documented = {
            code
            for code, response in responses.items()
            if code[0] in "45"
            and response["content"]["application/json"]["schema"] == ERROR_REF
        }

        assert documented == statuses

    def test_anything_else_falls_back_to_the_envelope(self, schema):
        responses = _operation(schema, "GET /api/v1/contacts")["responses"]

        assert (
            responses["default"]["content"]["application/json"]["schema"] == ERROR_REF
        )

    def test_health_documents_its_own_503_body(self, schema):
        responses = _operation(schema, "GET /api/v1/health")["responses"]

        assert responses["503"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Health"
        }

    def test_error_details_are_optional(self, schema):
        error = schema["components"]["schemas"]["Error"]

        assert error["required"] == ["error", "message"]
        assert "details" in error["properties"]
