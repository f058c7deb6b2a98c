"""The execution service: log lifecycle, sanitised errors, no overlap, run requests."""

import json
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from contract.errors import Conflict, NotFound, ServiceUnavailable
from tasks.models import TaskLog
from tasks.services.execution import (
    task_execute,
    task_log_finish,
    task_log_start,
    task_run_claim,
    task_run_queued,
    task_run_request,
    task_run_requests_expire,
)
from tasks.services.fallback import fallback_replay
from tasks.services.zombies import current_owner
from tasks.tests.factories import SchedulerLeaseFactory, TaskLogFactory
from tasks.tests.support import database_down

pytestmark = pytest.mark.usefixtures("engine_dirs")


@pytest.mark.django_db
class TestTaskExecute:
    def test_a_successful_run_is_completed_with_its_result(self, make_task):
        task_id = make_task(lambda: {"rows": 3})

        log = task_execute(task_id=task_id)

        stored = TaskLog.objects.get(pk=log.pk)
        assert stored.status == TaskLog.Status.COMPLETED
        assert json.loads(stored.result) == {"rows": 3}
        assert stored.error is None
        assert stored.completed_at >= stored.started_at

    def test_the_log_records_owner_trigger_and_name(self, make_task):
        task_id = make_task(lambda: {}, name="Nightly Thing")
        fire = timezone.now().replace(microsecond=0)

        log = task_execute(task_id=task_id, trigger="schedule", scheduled_for=fire)

        stored = TaskLog.objects.get(pk=log.pk)
        assert (stored.task_name, stored.trigger, stored.scheduled_for) == (
            "Nightly Thing",
            "schedule",
            fire,
        )
        assert stored.owner == current_owner()

    def test_a_task_class_runs_through_its_run_method(self, make_task):
        class Counter:
            def run(self):
                return {"counted": 7}

        task_id = make_task(Counter)

        log = task_execute(task_id=task_id)

        assert json.loads(log.result) == {"counted": 7}

    def test_a_failing_task_is_recorded_failed_and_does_not_raise(self, make_task):
        def boom():
            raise ValueError("no such row")

        task_id = make_task(boom)

        log = task_execute(task_id=task_id)

        stored = TaskLog.objects.get(pk=log.pk)
        assert stored.status == TaskLog.Status.FAILED
        assert stored.error == "ValueError: no such row"
        assert stored.result is None

    def test_a_task_calling_sys_exit_is_a_failure_not_an_exit(self, make_task):
        def leaves():
            raise SystemExit(3)

        task_id = make_task(leaves)

        log = task_execute(task_id=task_id)

        assert log.status == TaskLog.Status.FAILED

    def test_the_stored_error_hides_paths_secrets_and_personal_data(self, make_task):
        def leaky():
            raise RuntimeError(
                "cannot open /srv/autom8/var/keys.json with password=hunter2 "
                "for jane@example.com via postgres://admin:s3cret@db/prod"
            )

        task_id = make_task(leaky)

        error = task_execute(task_id=task_id).error

        for secret in (
            "/srv/autom8",
            "hunter2",
            "jane@example.com",
            "s3cret",
            "admin:",
        ):
            assert secret not in error
        assert error.startswith("RuntimeError: cannot open <path>")

    def test_a_database_error_is_stored_without_its_sql(self, make_task):
        from django.db import connection

        def bad_sql():
            with connection.cursor() as cursor:
                cursor.execute("SELECT secret_column FROM no_such_table_xyz")

        task_id = make_task(bad_sql)

        error = task_execute(task_id=task_id).error

        assert error.endswith(": database error")
        assert "no_such_table_xyz" not in error

    def test_a_long_error_is_shortened_to_one_line(self, make_task):
        def verbose():
            raise ValueError("line one\nline two " + "x " * 500)

        task_id = make_task(verbose)

        error = task_execute(task_id=task_id).error

        assert len(error) <= 200
        assert "\n" not in error

    def test_an_unknown_task_is_not_found(self):
        with pytest.raises(NotFound) as caught:
            task_execute(task_id="no-such-task")

        assert caught.value.message == "Task 'no-such-task' not found"
        assert not TaskLog.objects.exists()


@pytest.mark.django_db
class TestTaskLogStart:
    def test_a_start_creates_a_running_log(self, make_task):
        task_id = make_task(lambda: {})

        log = task_log_start(task_id=task_id, trigger="manual")

        stored = TaskLog.objects.get(pk=log.pk)
        assert stored.status == TaskLog.Status.RUNNING
        assert stored.completed_at is None
        assert stored.heartbeat_at == stored.started_at

    def test_a_task_running_in_a_live_process_is_a_conflict(self, make_task):
        task_id = make_task(lambda: {})
        task_log_start(task_id=task_id, trigger="manual")

        with pytest.raises(Conflict) as caught:
            task_log_start(task_id=task_id, trigger="manual")

        assert caught.value.message == f"Task '{task_id}' is already queued or running"
        assert TaskLog.objects.filter(task_type=task_id).count() == 1

    def test_a_task_running_elsewhere_with_a_fresh_heartbeat_is_a_conflict(
        self, make_task
    ):
        task_id = make_task(lambda: {})
        TaskLogFactory(
            task_type=task_id,
            status=TaskLog.Status.RUNNING,
            owner="other-node:77",
            heartbeat_at=timezone.now(),
        )

        with pytest.raises(Conflict):
            task_log_start(task_id=task_id, trigger="manual")

    def test_a_fire_that_already_ran_is_a_conflict(self, make_task):
        task_id = make_task(lambda: {})
        fire = timezone.now().replace(microsecond=0)
        task_execute(task_id=task_id, trigger="schedule", scheduled_for=fire)

        with pytest.raises(Conflict) as caught:
            task_log_start(task_id=task_id, trigger="schedule", scheduled_for=fire)

        assert "already ran for the fire" in caught.value.message

    def test_the_next_fire_of_the_same_task_may_start(self, make_task):
        task_id = make_task(lambda: {})
        fire = timezone.now().replace(microsecond=0)
        task_execute(task_id=task_id, trigger="schedule", scheduled_for=fire)

        log = task_log_start(
            task_id=task_id,
            trigger="schedule",
            scheduled_for=fire + timedelta(minutes=1),
        )

        assert log.pk is not None

    def test_finishing_without_error_completes_the_log(self, make_task):
        task_id = make_task(lambda: {})
        log = task_log_start(task_id=task_id, trigger="manual")

        task_log_finish(log, result={"ok": True})

        stored = TaskLog.objects.get(pk=log.pk)
        assert (stored.status, stored.result) == (
            TaskLog.Status.COMPLETED,
            '{"ok": true}',
        )

    def test_finishing_with_an_exception_fails_the_log_with_sanitised_text(
        self, make_task
    ):
        task_id = make_task(lambda: {})
        log = task_log_start(task_id=task_id, trigger="manual")

        task_log_finish(log, error=OSError("disk /var/lib/x full"))

        stored = TaskLog.objects.get(pk=log.pk)
        assert (stored.status, stored.error) == (
            TaskLog.Status.FAILED,
            "OSError: disk <path> full",
        )


def _race(target: Callable[[], None], *, threads: int) -> None:
    """Run ``target`` in ``threads`` threads released at once and wait for
    them; each thread closes the database connection it opened."""
    barrier = threading.Barrier(threads)

    def run():
        barrier.wait()
        try:
            target()
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


@pytest.mark.django_db(transaction=True)
class TestConcurrentStarts:
    def test_racing_starts_of_one_task_yield_exactly_one_run(self, make_task):
        task_id = make_task(lambda: {})
        outcomes: list[str] = []

        def start():
            try:
                task_log_start(task_id=task_id, trigger="manual")
                outcomes.append("started")
            except Conflict:
                outcomes.append("conflict")

        _race(start, threads=6)

        assert sorted(outcomes) == ["conflict"] * 5 + ["started"]
        assert TaskLog.objects.filter(task_type=task_id, status="running").count() == 1


@pytest.mark.django_db
class TestRunRequest:
    def test_a_request_is_queued_without_running_anything(
        self, make_task, live_scheduler
    ):
        ran = []
        task_id = make_task(lambda: ran.append(1) or {})

        log = task_run_request(task_id=task_id)

        stored = TaskLog.objects.get(pk=log.pk)
        assert (stored.status, stored.trigger, stored.owner) == ("queued", "manual", "")
        assert ran == []

    def test_without_a_live_scheduler_nothing_is_queued(self, make_task):
        task_id = make_task(lambda: {})

        with pytest.raises(ServiceUnavailable) as caught:
            task_run_request(task_id=task_id)

        assert "manage.py runscheduler" in caught.value.message
        assert not TaskLog.objects.exists()

    def test_a_stale_scheduler_does_not_count_as_alive(self, make_task, settings):
        task_id = make_task(lambda: {})
        stale = timezone.now() - timedelta(seconds=settings.SCHEDULER_LEASE_SECONDS + 1)
        SchedulerLeaseFactory(heartbeat_at=stale)

        with pytest.raises(ServiceUnavailable):
            task_run_request(task_id=task_id)

    def test_a_second_request_while_queued_is_a_conflict(
        self, make_task, live_scheduler
    ):
        task_id = make_task(lambda: {})
        task_run_request(task_id=task_id)

        with pytest.raises(Conflict) as caught:
            task_run_request(task_id=task_id)

        assert "already queued or running" in caught.value.message
        assert TaskLog.objects.filter(task_type=task_id).count() == 1

    def test_a_request_while_running_is_a_conflict(self, make_task, live_scheduler):
        task_id = make_task(lambda: {})
        TaskLogFactory(task_type=task_id, status="running", owner=current_owner())

        with pytest.raises(Conflict):
            task_run_request(task_id=task_id)

    def test_an_unknown_task_is_not_found_and_queues_nothing(self, live_scheduler):
        with pytest.raises(NotFound):
            task_run_request(task_id="missing")

        assert not TaskLog.objects.exists()

    def test_a_queued_request_keeps_a_scheduled_fire_from_starting(
        self, make_task, live_scheduler
    ):
        task_id = make_task(lambda: {})
        task_run_request(task_id=task_id)

        with pytest.raises(Conflict):
            task_log_start(
                task_id=task_id, trigger="schedule", scheduled_for=timezone.now()
            )


@pytest.mark.django_db
class TestQueuedRun:
    def test_a_queued_request_is_run_by_this_process(self, make_task, live_scheduler):
        task_id = make_task(lambda: {"done": 1})
        queued = task_run_request(task_id=task_id)

        log = task_run_queued(log_id=queued.pk)

        stored = TaskLog.objects.get(pk=queued.pk)
        assert log.pk == queued.pk
        assert (stored.status, stored.result, stored.owner) == (
            "completed",
            '{"done": 1}',
            current_owner(),
        )

    def test_the_claim_records_when_the_run_really_started(
        self, make_task, live_scheduler
    ):
        task_id = make_task(lambda: {})
        queued = task_run_request(task_id=task_id)
        TaskLog.objects.filter(pk=queued.pk).update(
            started_at=timezone.now() - timedelta(minutes=5)
        )

        log = task_run_claim(log_id=queued.pk)

        assert timezone.now() - log.started_at < timedelta(seconds=5)
        assert log.heartbeat_at == log.started_at

    def test_a_request_claimed_already_is_not_run_again(
        self, make_task, live_scheduler
    ):
        ran = []
        task_id = make_task(lambda: ran.append(1) or {})
        queued = task_run_request(task_id=task_id)
        task_run_claim(log_id=queued.pk)

        assert task_run_queued(log_id=queued.pk) is None
        assert ran == []

    def test_a_request_for_a_task_no_longer_registered_fails(self, live_scheduler):
        queued = TaskLogFactory(task_type="vanished", status="queued", owner="")

        log = task_run_queued(log_id=queued.pk)

        assert log.status == "failed"
        assert "no longer registered" in log.error

    def test_a_request_queued_too_long_is_given_up(self, settings):
        settings.TASK_QUEUE_TIMEOUT_SECONDS = 60
        old = TaskLogFactory(
            status="queued",
            owner="",
            started_at=timezone.now() - timedelta(seconds=61),
        )
        fresh = TaskLogFactory(task_type="backup", status="queued", owner="")

        assert task_run_requests_expire() == 1

        old.refresh_from_db()
        fresh.refresh_from_db()
        assert (old.status, fresh.status) == ("interrupted", "queued")
        assert "60 seconds" in old.error


@pytest.mark.django_db(transaction=True)
class TestConcurrentClaims:
    def test_racing_claims_of_one_request_yield_exactly_one_run(
        self, make_task, live_scheduler
    ):
        task_id = make_task(lambda: {})
        queued = task_run_request(task_id=task_id)
        outcomes = []

        def claim():
            outcomes.append(task_run_claim(log_id=queued.pk) is not None)

        _race(claim, threads=6)

        assert sorted(outcomes) == [False] * 5 + [True]


@pytest.mark.django_db(transaction=True)
class TestHeartbeat:
    def test_a_running_task_refreshes_its_heartbeat(self, make_task, settings):
        settings.TASK_HEARTBEAT_SECONDS = 0.05

        def slow():
            time.sleep(0.5)
            log = TaskLog.objects.get(status="running")
            return {"beat": (log.heartbeat_at - log.started_at).total_seconds()}

        task_id = make_task(slow)

        log = task_execute(task_id=task_id)

        assert json.loads(log.result)["beat"] > 0


@pytest.mark.django_db(transaction=True)
def test_a_run_started_with_the_database_down_beats_once_imported(make_task, settings):
    settings.TASK_HEARTBEAT_SECONDS = 0.05
    outage = ExitStack()

    def back_mid_run():
        outage.close()
        fallback_replay()
        imported = TaskLog.objects.get(task_type=task_id).heartbeat_at
        time.sleep(0.5)
        later = TaskLog.objects.get(task_type=task_id).heartbeat_at
        return {"beat": (later - imported).total_seconds()}

    task_id = make_task(back_mid_run)
    outage.enter_context(database_down())

    log = task_execute(task_id=task_id)

    assert log.status == TaskLog.Status.COMPLETED
    assert json.loads(log.result)["beat"] > 0
