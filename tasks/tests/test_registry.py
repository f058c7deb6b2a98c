"""The task registry: functions and classes by id; the built-ins registered."""

import pytest

from tasks import registry


@pytest.fixture
def scratch():
    yield "scratch-task"
    registry.unregister("scratch-task")


def test_the_built_ins_are_registered_with_their_default_schedules():
    found = {d.id: (d.name, d.default_schedule) for d in registry.all_definitions()}

    assert found["backup"] == ("Daily Backup", "0 2 * * *")
    assert found["cleanup"] == ("Hourly Cleanup", "0 * * * *")
    assert found["report"] == ("Daily Report", "0 9 * * *")


def test_a_registered_function_is_its_definitions_callable(scratch):
    @registry.register(scratch, name="Scratch", schedule="*/5 * * * *")
    def scratch_task():
        return {"n": 1}

    definition = registry.get_definition(scratch)

    assert (definition.name, definition.default_schedule) == ("Scratch", "*/5 * * * *")
    assert definition.func() == {"n": 1}


def test_a_registered_class_is_instantiated_and_run(scratch):
    @registry.register(scratch, name="Scratch", schedule="* * * * *")
    class ScratchTask:
        def run(self):
            return {"instance": id(self) != 0}

    assert registry.get_definition(scratch).func() == {"instance": True}


def test_a_class_without_run_is_rejected(scratch):
    with pytest.raises(TypeError):
        registry.register(scratch, name="Scratch", schedule="* * * * *")(
            type("NoRun", (), {})
        )


def test_another_object_cannot_take_a_registered_id():
    with pytest.raises(ValueError, match="already registered"):
        registry.register("backup", name="Other", schedule="* * * * *")(dict)


def test_an_unknown_id_has_no_definition():
    assert registry.get_definition("missing") is None
