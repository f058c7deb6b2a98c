"""The execution service: log lifecycle, sanitised errors, no overlap, background runs."""

import json
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.utils import timezone

from contract.errors import Conflict, NotFound
from tasks.models import TaskLog
from tasks.services.execution import (
    task_background_wait,
    task_execute,
    task_log_finish,
    task_log_start,
    task_start_background,
)
from tasks.services.fallback import fallback_replay
from tasks.services.zombies import current_owner
from tasks.tests.factories import TaskLogFactory
from tasks.tests.support import BASE_DIR, database_down, process_env

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

        assert caught.value.message == f"Task '{task_id}' is already running"
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


@pytest.mark.django_db(transaction=True)
class TestConcurrentStarts:
    def test_racing_starts_of_one_task_yield_exactly_one_run(self, make_task):
        task_id = make_task(lambda: {})
        barrier = threading.Barrier(6)
        outcomes: list[str] = []

        def start():
            from django.db import connection

            barrier.wait()
            try:
                task_log_start(task_id=task_id, trigger="manual")
                outcomes.append("started")
            except Conflict:
                outcomes.append("conflict")
            finally:
                connection.close()

        threads = [threading.Thread(target=start) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes) == ["conflict"] * 5 + ["started"]
        assert TaskLog.objects.filter(task_type=task_id, status="running").count() == 1


@pytest.mark.django_db(transaction=True)
class TestBackgroundRun:
    def test_the_log_exists_before_the_run_finishes(self, make_task):
        release = threading.Event()
        task_id = make_task(lambda: {"waited": release.wait(10)})

        log = task_start_background(task_id=task_id)

        assert TaskLog.objects.get(pk=log.pk).status == TaskLog.Status.RUNNING
        release.set()
        assert task_background_wait(timeout=10)

    def test_the_background_run_completes_its_log(self, make_task):
        task_id = make_task(lambda: {"done": 1})

        log = task_start_background(task_id=task_id)
        assert task_background_wait(timeout=10)

        stored = TaskLog.objects.get(pk=log.pk)
        assert (stored.status, stored.result) == (
            TaskLog.Status.COMPLETED,
            '{"done": 1}',
        )

    def test_a_second_start_while_running_is_a_conflict(self, make_task):
        release = threading.Event()
        task_id = make_task(lambda: {"waited": release.wait(10)})
        task_start_background(task_id=task_id)

        try:
            with pytest.raises(Conflict):
                task_start_background(task_id=task_id)
        finally:
            release.set()
            task_background_wait(timeout=10)

    def test_an_unknown_task_is_not_found_and_starts_nothing(self):
        with pytest.raises(NotFound):
            task_start_background(task_id="missing")

        assert not TaskLog.objects.exists()

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


_BACKGROUND_RUN_THEN_EXIT = """
import django, sys, time
django.setup()
from tasks.registry import register
from tasks.services.execution import task_start_background
seconds = float(sys.argv[1])
register("slowpoke", name="Slowpoke", schedule="* * * * *")(
    lambda: time.sleep(seconds) or {"slept": seconds}
)
print(task_start_background(task_id="slowpoke").run_id, flush=True)
"""


def _background_run_then_exit(*, seconds: float, grace: int) -> tuple[str, float]:
    """Start a background run in a child process that then exits normally."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _BACKGROUND_RUN_THEN_EXIT, str(seconds)],
        cwd=BASE_DIR,
        env=process_env(LOG_LEVEL="error", SHUTDOWN_GRACE_SECONDS=str(grace)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), time.monotonic() - began


@pytest.mark.django_db(transaction=True)
class TestBackgroundRunAtExit:
    def test_a_process_exiting_normally_lets_its_background_run_finish(self):
        run_id, _ = _background_run_then_exit(seconds=1, grace=30)

        stored = TaskLog.objects.get(run_id=run_id)
        assert (stored.status, stored.result) == (
            TaskLog.Status.COMPLETED,
            '{"slept": 1.0}',
        )

    def test_the_wait_at_exit_ends_after_the_grace_period(self):
        run_id, took = _background_run_then_exit(seconds=60, grace=1)

        assert took < 30
        assert TaskLog.objects.get(run_id=run_id).status == TaskLog.Status.RUNNING
