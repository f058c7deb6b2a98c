"""A scheduled fire: executed once, skipped when off or already fired; its fire time."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from django.utils import timezone

from tasks.models import Task, TaskLog
from tasks.scheduler.jobs import FireTimeExecutor, in_flight, run_scheduled_fire
from tasks.tests.factories import TaskFactory

FIRE = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)

_seen: dict = {}
_called = threading.Event()


def _capture(*args, **kwargs) -> None:
    """Job function that records how APScheduler called it."""
    _seen.update(args=args, kwargs=kwargs)
    _called.set()


@pytest.fixture
def demo(make_task) -> str:
    task_id = make_task(lambda: {"ok": True}, task_id="demo")
    TaskFactory(id=task_id)
    return task_id


# The job closes stale connections like a request does, which a test
# transaction would not survive: these tests commit for real.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("engine_dirs")
class TestRunScheduledFire:
    def test_a_fire_runs_the_task_with_its_fire_time(self, demo):
        outcome = run_scheduled_fire(demo, scheduled_for=FIRE)

        log = TaskLog.objects.get(task_type=demo)
        assert outcome == "executed"
        assert (log.trigger, log.scheduled_for, log.status) == (
            "schedule",
            FIRE,
            "completed",
        )

    def test_a_fire_already_run_is_skipped(self, demo):
        run_scheduled_fire(demo, scheduled_for=FIRE)

        outcome = run_scheduled_fire(demo, scheduled_for=FIRE)

        assert outcome.startswith("skipped")
        assert TaskLog.objects.filter(task_type=demo).count() == 1

    def test_the_next_fire_runs_again(self, demo):
        run_scheduled_fire(demo, scheduled_for=FIRE)

        run_scheduled_fire(demo, scheduled_for=FIRE + timedelta(hours=1))

        assert TaskLog.objects.filter(task_type=demo).count() == 2

    def test_a_fire_of_a_disabled_task_is_skipped(self, demo):
        Task.objects.filter(pk=demo).update(is_enabled=False)

        outcome = run_scheduled_fire(demo, scheduled_for=FIRE)

        assert outcome == "skipped: the task is disabled"
        assert not TaskLog.objects.exists()

    def test_a_fire_of_an_unregistered_task_is_skipped(self):
        TaskFactory(id="gone")

        assert run_scheduled_fire("gone", scheduled_for=FIRE).startswith("skipped")

    def test_no_run_is_counted_in_flight_afterwards(self, demo):
        run_scheduled_fire(demo, scheduled_for=FIRE)

        assert in_flight.count == 0


def test_the_executor_passes_the_fire_time_as_scheduled_for():
    _seen.clear()
    _called.clear()
    scheduler = BackgroundScheduler(
        timezone=UTC, executors={"default": FireTimeExecutor()}
    )
    scheduler.start()
    run_date = timezone.now() + timedelta(milliseconds=200)
    try:
        scheduler.add_job(_capture, "date", run_date=run_date, args=["demo"])

        assert _called.wait(timeout=5)
        # A one-off job is removed after its run; stopping before that
        # makes APScheduler's own thread fail to find it.
        deadline = time.monotonic() + 5
        while scheduler.get_jobs() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.shutdown()

    assert _seen == {"args": ("demo",), "kwargs": {"scheduled_for": run_date}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("engine_dirs")
def test_a_bare_call_is_a_manual_run(demo):
    """django-apscheduler's "run selected jobs" admin action calls it so."""
    outcome = run_scheduled_fire(demo)

    log = TaskLog.objects.get(task_type=demo)
    assert outcome == "executed"
    assert (log.trigger, log.scheduled_for) == ("manual", None)
