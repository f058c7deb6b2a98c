"""The leader's job store follows the Task table: at start and on every sync."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from django.utils import timezone
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJob

from tasks.models import SchedulerLease, Task, TaskLog
from tasks.scheduler.cron import schedule_timezone, schedule_trigger
from tasks.scheduler.jobs import in_flight, run_scheduled_fire
from tasks.scheduler.leader import LeaseLeadership
from tasks.scheduler.runner import SchedulerRunner
from tasks.selectors import LEASE_NAME
from tasks.services.fallback import fallback_record
from tasks.services.zombies import current_owner
from tasks.tests.factories import TaskFactory, TaskLogFactory
from tasks.tests.support import database_down

YEARLY = "0 0 1 1 *"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("engine_dirs"),
]


@pytest.fixture
def demo(make_task) -> str:
    """A registered yearly task ``demo``; the built-ins are switched off."""
    for task_id in ("backup", "cleanup", "report"):
        TaskFactory(id=task_id, is_enabled=False)
    make_task(lambda: {"ok": True}, task_id="demo")
    TaskFactory(id="demo", schedule=YEARLY)
    return "demo"


@pytest.fixture
def runner():
    """A runner whose jobs are stopped after the test."""
    runner = SchedulerRunner(leadership=LeaseLeadership(identity="test:1"))
    yield runner
    runner._stop_jobs()


def _store_job(task_id: str, schedule: str, *, next_run_time) -> None:
    """Put a job in the store as an earlier leader would have left it.

    Written to the store directly: a started scheduler, even paused, could
    process a job due in the past while it shuts down and move it on.
    """
    store = DjangoJobStore()
    job = Job(
        BackgroundScheduler(),
        id=task_id,
        func=run_scheduled_fire,
        trigger=schedule_trigger(schedule),
        executor="default",
        args=[task_id, schedule],
        kwargs={},
        name=task_id,
        misfire_grace_time=300,
        coalesce=True,
        max_instances=1,
        next_run_time=next_run_time,
    )
    store.add_job(job)


def _job(runner: SchedulerRunner, task_id: str):
    return runner._scheduler.get_job(task_id)


def _wait_for_fire_outcome(caplog, task_id: str) -> str:
    """The log line saying how the first scheduled fire of ``task_id`` ended."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for record in caplog.records:
            message = record.getMessage()
            if message.startswith(f"Scheduled fire of {task_id} at "):
                return message
        time.sleep(0.05)
    raise AssertionError(f"no scheduled fire of {task_id} within 5 s")


class TestJobsAtStart:
    def test_an_unreadable_stored_job_is_replaced(self, demo, runner):
        DjangoJob.objects.create(
            id="demo", job_state=b"not a pickle", next_run_time=timezone.now()
        )

        runner._start_jobs()

        assert "month='1'" in str(_job(runner, "demo").trigger)

    def test_jobs_of_unknown_tasks_are_removed(self, demo, runner):
        DjangoJob.objects.create(
            id="ghost", job_state=b"x", next_run_time=timezone.now()
        )

        runner._start_jobs()

        assert set(DjangoJob.objects.values_list("id", flat=True)) == {"demo"}

    def test_a_disabled_task_has_no_job(self, demo, runner):
        Task.objects.filter(pk="demo").update(is_enabled=False)

        runner._start_jobs()

        assert not DjangoJob.objects.exists()

    def test_an_unchanged_schedule_keeps_the_stored_next_run(self, demo, runner):
        pending = timezone.now().replace(microsecond=0) + timedelta(days=3)
        _store_job("demo", YEARLY, next_run_time=pending)

        runner._start_jobs()

        assert _job(runner, "demo").next_run_time == pending

    def test_an_unchanged_either_day_schedule_keeps_the_stored_next_run(
        self, demo, runner
    ):
        either_day = "0 0 1 * 1"
        Task.objects.filter(pk="demo").update(schedule=either_day)
        pending = timezone.now().replace(microsecond=0) + timedelta(days=3)
        _store_job("demo", either_day, next_run_time=pending)

        runner._start_jobs()

        assert _job(runner, "demo").next_run_time == pending

    def test_a_changed_schedule_gets_a_fresh_next_run(self, demo, runner):
        pending = timezone.now().replace(microsecond=0) + timedelta(days=3)
        _store_job("demo", "0 5 * * *", next_run_time=pending)

        runner._start_jobs()

        next_run = _job(runner, "demo").next_run_time
        assert (next_run.month, next_run.day, next_run.hour) == (1, 1, 0)

    def test_registered_tasks_without_rows_are_seeded_and_scheduled(
        self, make_task, runner
    ):
        make_task(lambda: {}, task_id="fresh")

        runner._start_jobs()

        assert Task.objects.filter(pk="fresh").exists()
        assert _job(runner, "fresh") is not None


class TestJobsFollowTheTable:
    def test_disabling_removes_the_job(self, demo, runner):
        runner._start_jobs()
        Task.objects.filter(pk="demo").update(is_enabled=False)

        runner._sync()

        assert _job(runner, "demo") is None

    def test_enabling_adds_the_job(self, demo, runner):
        Task.objects.filter(pk="demo").update(is_enabled=False)
        runner._start_jobs()
        Task.objects.filter(pk="demo").update(is_enabled=True)

        runner._sync()

        assert _job(runner, "demo") is not None

    def test_rescheduling_replaces_the_trigger(self, demo, runner):
        runner._start_jobs()
        Task.objects.filter(pk="demo").update(schedule="*/5 * * * *")

        runner._sync()

        assert "minute='*/5'" in str(_job(runner, "demo").trigger)

    def test_a_job_deleted_from_the_store_comes_back(self, demo, runner):
        runner._start_jobs()
        DjangoJob.objects.filter(id="demo").delete()

        runner._sync()

        assert _job(runner, "demo") is not None

    def test_a_broken_schedule_is_logged_and_not_scheduled(self, demo, runner, caplog):
        runner._start_jobs()
        Task.objects.filter(pk="demo").update(schedule="not a cron")

        with caplog.at_level(logging.ERROR, logger="autom8.scheduler"):
            runner._sync()

        assert _job(runner, "demo") is None
        assert "invalid schedule" in caplog.text


class TestLeadershipAndOutages:
    def test_maintenance_survives_a_database_outage(self, runner, caplog):
        with caplog.at_level(logging.ERROR, logger="autom8.scheduler"), database_down():
            runner._maintain()

        assert "run reconciliation failed" in caplog.text

    def test_gaining_leadership_starts_the_jobs(self, demo, runner):
        runner._elect()

        assert _job(runner, "demo") is not None

    def test_losing_leadership_stops_the_jobs(self, demo, runner):
        runner._elect()
        SchedulerLease.objects.filter(name=LEASE_NAME).update(
            owner="other:2", expires_at=timezone.now() + timedelta(hours=1)
        )

        runner._elect()

        assert runner._scheduler is None


def _a_fire_just_missed():
    """The start of the current minute: a fire a leader that died missed."""
    return timezone.now().replace(second=0, microsecond=0)


def _schedule_firing_at(fire) -> str:
    """A yearly schedule of the Task row ``counted`` that fires at ``fire``."""
    local = timezone.localtime(fire, schedule_timezone())
    schedule = f"{local.minute} {local.hour} {local.day} {local.month} *"
    Task.objects.filter(pk="counted").update(schedule=schedule)
    return schedule


class TestCatchingUpBeforeTheFirstFire:
    """Runs recorded while the database was down are imported before any fire."""

    @pytest.fixture
    def counted(self, make_task, runner):
        """A registered yearly task ``counted`` whose executions are listed."""
        for task_id in ("backup", "cleanup", "report"):
            TaskFactory(id=task_id, is_enabled=False)
        calls: list[str] = []
        make_task(lambda: calls.append("ran") or {}, task_id="counted")
        TaskFactory(id="counted", schedule=YEARLY)
        return calls

    def test_a_run_still_going_keeps_the_missed_fire_from_running_beside_it(
        self, counted, runner, caplog
    ):
        started = timezone.now()  # later than this process began: its own run
        fallback_record(
            TaskLogFactory.build(
                task_type="counted",
                status="running",
                owner=current_owner(),
                started_at=started,
                heartbeat_at=started,
            ),
            event="start",
        )
        missed = _a_fire_just_missed()
        _store_job("counted", _schedule_firing_at(missed), next_run_time=missed)

        with caplog.at_level(logging.INFO, logger="autom8.scheduler"):
            runner._elect()
            outcome = _wait_for_fire_outcome(caplog, "counted")

        assert "skipped: Task 'counted' is already queued or running" in outcome
        assert counted == []

    def test_a_fire_that_ran_while_the_database_was_down_does_not_run_again(
        self, counted, runner, caplog
    ):
        fire = _a_fire_just_missed()
        fallback_record(
            TaskLogFactory.build(
                task_type="counted",
                trigger="schedule",
                scheduled_for=fire,
                started_at=fire,
                completed_at=fire + timedelta(seconds=1),
            ),
            event="finish",
        )
        _store_job("counted", _schedule_firing_at(fire), next_run_time=fire)

        with caplog.at_level(logging.INFO, logger="autom8.scheduler"):
            runner._elect()
            outcome = _wait_for_fire_outcome(caplog, "counted")

        assert "already ran for the fire" in outcome
        assert counted == []
        assert TaskLog.objects.filter(task_type="counted").count() == 1


class TestStopping:
    def test_leadership_is_handed_over_before_waiting_for_a_run(
        self, demo, runner, settings
    ):
        settings.SHUTDOWN_GRACE_SECONDS = 10
        runner._elect()
        finished = threading.Event()

        with in_flight:
            stopper = threading.Thread(
                target=lambda: runner._shutdown() and finished.set()
            )
            stopper.start()
            deadline = time.monotonic() + 5
            while SchedulerLease.objects.get(name=LEASE_NAME).owner and (
                time.monotonic() < deadline
            ):
                time.sleep(0.05)
            owner_while_running = SchedulerLease.objects.get(name=LEASE_NAME).owner
            still_waiting = stopper.is_alive()
        stopper.join(timeout=5)

        assert owner_while_running == ""
        assert still_waiting
        assert finished.is_set()
