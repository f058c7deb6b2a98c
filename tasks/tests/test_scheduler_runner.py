"""The leader's job store follows the Task table: at start and on every sync."""

import logging
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from django.utils import timezone
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJob

from tasks.models import SchedulerLease, Task
from tasks.scheduler.cron import schedule_trigger
from tasks.scheduler.jobs import run_scheduled_fire
from tasks.scheduler.leader import LeaseLeadership
from tasks.scheduler.runner import SchedulerRunner
from tasks.selectors import LEASE_NAME
from tasks.tests.factories import TaskFactory
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
    """Put a job in the store as an earlier leader would have left it."""
    scheduler = BackgroundScheduler(jobstores={"default": DjangoJobStore()})
    scheduler.start(paused=True)
    scheduler.add_job(
        run_scheduled_fire,
        trigger=schedule_trigger(schedule),
        args=[task_id],
        id=task_id,
        next_run_time=next_run_time,
    )
    scheduler.shutdown(wait=False)


def _job(runner: SchedulerRunner, task_id: str):
    return runner._scheduler.get_job(task_id)


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
