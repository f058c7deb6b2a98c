"""The task catalogue: seeding from the registry, switches, schedules."""

import pytest

from contract.errors import Invalid, NotFound
from tasks.models import Task
from tasks.services.catalog import task_reschedule, task_seed, task_toggle
from tasks.tests.factories import TaskFactory

BUILT_INS = {"backup": "0 2 * * *", "cleanup": "0 * * * *", "report": "0 9 * * *"}


@pytest.mark.django_db
class TestTaskSeed:
    def test_built_in_tasks_get_rows_with_their_default_schedules(self):
        task_seed()

        rows = dict(Task.objects.filter(pk__in=BUILT_INS).values_list("id", "schedule"))
        assert rows == BUILT_INS

    def test_seeding_twice_adds_nothing(self):
        task_seed()
        count = Task.objects.count()

        task_seed()

        assert Task.objects.count() == count

    def test_an_edited_schedule_and_switch_are_kept(self):
        TaskFactory(id="backup", schedule="30 4 * * *", is_enabled=False)

        task_seed()

        backup = Task.objects.get(pk="backup")
        assert (backup.schedule, backup.is_enabled) == ("30 4 * * *", False)

    def test_the_display_name_follows_the_code(self):
        TaskFactory(id="backup", name="Old name")

        task_seed()

        assert Task.objects.get(pk="backup").name == "Daily Backup"


@pytest.mark.django_db
class TestTaskToggle:
    def test_a_task_without_a_row_is_created_and_switched(self):
        task = task_toggle(task_id="report", enabled=False)

        assert task.is_enabled is False
        assert Task.objects.get(pk="report").schedule == "0 9 * * *"

    def test_switching_on_again_is_stored(self):
        TaskFactory(id="report", is_enabled=False)

        task_toggle(task_id="report", enabled=True)

        assert Task.objects.get(pk="report").is_enabled is True

    def test_switching_moves_updated_at(self):
        before = TaskFactory(id="report").updated_at

        task = task_toggle(task_id="report", enabled=False)

        assert task.updated_at > before

    def test_unregistered_task_is_not_found(self):
        with pytest.raises(NotFound):
            task_toggle(task_id="nope", enabled=False)

        assert not Task.objects.filter(pk="nope").exists()


@pytest.mark.django_db
class TestTaskReschedule:
    def test_schedule_is_stored_normalised(self):
        task_reschedule(task_id="cleanup", schedule=" */15  * * * * ")

        assert Task.objects.get(pk="cleanup").schedule == "*/15 * * * *"

    def test_invalid_cron_leaves_the_task_unchanged(self):
        TaskFactory(id="cleanup", schedule="0 * * * *")

        with pytest.raises(Invalid):
            task_reschedule(task_id="cleanup", schedule="99 * * * *")

        assert Task.objects.get(pk="cleanup").schedule == "0 * * * *"

    def test_unregistered_task_is_not_found(self):
        with pytest.raises(NotFound):
            task_reschedule(task_id="nope", schedule="0 * * * *")
