"""A scheduled fire: executed once, skipped when off or already fired; its fire time.

Also a queued run request, as the leader's pool executes it.
"""

from datetime import UTC, datetime, timedelta

import pytest

from tasks.models import Task, TaskLog
from tasks.scheduler.jobs import fire_time, in_flight, run_requested, run_scheduled_fire
from tasks.services.execution import task_run_request
from tasks.services.zombies import current_owner
from tasks.tests.factories import TaskFactory

HOURLY = "0 * * * *"
FIRE = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)
JUST_AFTER = FIRE + timedelta(milliseconds=3)


@pytest.fixture
def demo(make_task) -> str:
    task_id = make_task(lambda: {"ok": True}, task_id="demo")
    TaskFactory(id=task_id, schedule=HOURLY)
    return task_id


class TestFireTime:
    def test_a_job_run_right_after_its_fire_belongs_to_that_fire(self, settings):
        settings.TIME_ZONE = "UTC"

        assert fire_time(HOURLY, now=JUST_AFTER) == FIRE

    def test_a_late_coalesced_run_belongs_to_the_latest_fire(self, settings):
        settings.TIME_ZONE = "UTC"

        late = fire_time("* * * * *", now=FIRE + timedelta(seconds=150))

        assert late == FIRE + timedelta(minutes=2)

    def test_a_fire_older_than_the_misfire_grace_is_not_found(self, settings):
        settings.TIME_ZONE = "UTC"
        settings.SCHEDULER_MISFIRE_GRACE_SECONDS = 60

        assert fire_time(HOURLY, now=FIRE + timedelta(minutes=5)) is None

    def test_the_fire_is_read_in_the_schedule_time_zone(self, settings):
        settings.TIME_ZONE = "Africa/Nairobi"  # UTC+3: 05:00 there is 02:00 UTC

        assert fire_time("0 5 * * *", now=JUST_AFTER) == FIRE

    def test_an_invalid_schedule_has_no_fire(self):
        assert fire_time("not cron", now=JUST_AFTER) is None


# The job closes stale connections like a request does, which a test
# transaction would not survive: these tests commit for real.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("engine_dirs")
class TestRunScheduledFire:
    @pytest.fixture(autouse=True)
    def _utc(self, settings):
        settings.TIME_ZONE = "UTC"

    def test_a_fire_runs_the_task_with_its_fire_time(self, demo):
        outcome = run_scheduled_fire(demo, HOURLY, now=JUST_AFTER)

        log = TaskLog.objects.get(task_type=demo)
        assert outcome == "executed"
        assert (log.trigger, log.scheduled_for, log.status) == (
            "schedule",
            FIRE,
            "completed",
        )

    def test_a_fire_already_run_is_skipped(self, demo):
        run_scheduled_fire(demo, HOURLY, now=JUST_AFTER)

        outcome = run_scheduled_fire(demo, HOURLY, now=JUST_AFTER)

        assert outcome.startswith("skipped")
        assert TaskLog.objects.filter(task_type=demo).count() == 1

    def test_the_next_fire_runs_again(self, demo):
        run_scheduled_fire(demo, HOURLY, now=JUST_AFTER)

        run_scheduled_fire(demo, HOURLY, now=JUST_AFTER + timedelta(hours=1))

        assert TaskLog.objects.filter(task_type=demo).count() == 2

    def test_a_fire_of_a_disabled_task_is_skipped(self, demo):
        Task.objects.filter(pk=demo).update(is_enabled=False)

        outcome = run_scheduled_fire(demo, HOURLY, now=JUST_AFTER)

        assert outcome == "skipped: the task is disabled"
        assert not TaskLog.objects.exists()

    def test_a_fire_of_an_unregistered_task_is_skipped(self):
        TaskFactory(id="gone")

        outcome = run_scheduled_fire("gone", HOURLY, now=JUST_AFTER)

        assert outcome.startswith("skipped")

    def test_a_job_with_no_due_fire_runs_nothing(self, demo, settings):
        settings.SCHEDULER_MISFIRE_GRACE_SECONDS = 60

        outcome = run_scheduled_fire(demo, HOURLY, now=FIRE + timedelta(minutes=30))

        assert outcome.startswith("skipped")
        assert not TaskLog.objects.exists()

    def test_no_run_is_counted_in_flight_afterwards(self, demo):
        run_scheduled_fire(demo, HOURLY, now=JUST_AFTER)

        assert in_flight.count == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("engine_dirs")
class TestRunRequested:
    def test_a_queued_request_is_executed_by_this_process(self, demo, live_scheduler):
        queued = task_run_request(task_id=demo)

        outcome = run_requested(queued.pk)

        log = TaskLog.objects.get(pk=queued.pk)
        assert outcome == "executed"
        assert (log.status, log.owner) == ("completed", current_owner())

    def test_a_request_taken_by_another_scheduler_is_skipped(
        self, demo, live_scheduler
    ):
        queued = task_run_request(task_id=demo)
        TaskLog.objects.filter(pk=queued.pk).update(status="running", owner="b:1")

        assert run_requested(queued.pk).startswith("skipped")
        assert TaskLog.objects.get(pk=queued.pk).owner == "b:1"
