"""Zombie reconciliation: dead owners' runs are interrupted, live ones never touched."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import TaskLog
from tasks.services.execution import task_log_start
from tasks.services.zombies import task_logs_interrupt_all, task_logs_reconcile
from tasks.tests.factories import TaskLogFactory
from tasks.tests.support import (
    BASE_DIR,
    dead_pid,
    live_process,
    process_env,
    this_host,
)

pytestmark = pytest.mark.usefixtures("engine_dirs")


def _running(**fields) -> TaskLog:
    return TaskLogFactory(status=TaskLog.Status.RUNNING, **fields)


@pytest.mark.django_db
class TestTaskLogsReconcile:
    def test_a_run_whose_process_died_is_interrupted_with_the_reason(self):
        owner = this_host(dead_pid())
        log = _running(owner=owner)

        count = task_logs_reconcile()

        stored = TaskLog.objects.get(pk=log.pk)
        assert count == 1
        assert stored.status == TaskLog.Status.INTERRUPTED
        assert stored.error == f"Owner process {owner} is no longer running"
        assert stored.completed_at is not None

    def test_a_run_alive_in_another_process_is_untouched(self, settings):
        settings.TASK_STALE_SECONDS = 300
        with live_process() as process:
            now = timezone.now()
            log = _running(owner=this_host(process.pid), heartbeat_at=now)

            count = task_logs_reconcile(now=now + timedelta(seconds=299))

            assert count == 0
            assert TaskLog.objects.get(pk=log.pk).status == TaskLog.Status.RUNNING

    def test_a_live_process_that_stopped_beating_for_a_run_no_longer_holds_it(
        self, settings
    ):
        settings.TASK_STALE_SECONDS = 300
        with live_process() as process:
            now = timezone.now()
            owner = this_host(process.pid)
            log = _running(owner=owner, heartbeat_at=now)

            count = task_logs_reconcile(now=now + timedelta(seconds=301))

            stored = TaskLog.objects.get(pk=log.pk)
            assert count == 1
            assert stored.status == TaskLog.Status.INTERRUPTED
            assert stored.error == (
                f"Owner process {owner} is alive but sent no heartbeat for over 300 seconds"
            )

    def test_a_pid_reused_by_a_newer_process_does_not_keep_a_run_alive(self):
        with live_process() as process:
            log = _running(
                owner=this_host(process.pid),
                started_at=timezone.now() - timedelta(hours=1),
            )

            count = task_logs_reconcile()

            assert count == 1
            assert TaskLog.objects.get(pk=log.pk).status == TaskLog.Status.INTERRUPTED

    def test_another_hosts_run_with_a_fresh_heartbeat_is_untouched(self, settings):
        settings.TASK_STALE_SECONDS = 300
        now = timezone.now()
        log = _running(
            owner="elsewhere:123", started_at=now - timedelta(hours=5), heartbeat_at=now
        )

        count = task_logs_reconcile(now=now + timedelta(seconds=299))

        assert count == 0
        assert TaskLog.objects.get(pk=log.pk).status == TaskLog.Status.RUNNING

    def test_another_hosts_run_with_a_stale_heartbeat_is_interrupted(self, settings):
        settings.TASK_STALE_SECONDS = 300
        now = timezone.now()
        log = _running(owner="elsewhere:123", started_at=now, heartbeat_at=now)

        task_logs_reconcile(now=now + timedelta(seconds=301))

        stored = TaskLog.objects.get(pk=log.pk)
        assert stored.status == TaskLog.Status.INTERRUPTED
        assert "No heartbeat from elsewhere:123" in stored.error

    def test_finished_runs_are_never_reconciled(self):
        log = TaskLogFactory(
            status=TaskLog.Status.COMPLETED, owner=this_host(dead_pid())
        )

        count = task_logs_reconcile()

        assert count == 0
        assert TaskLog.objects.get(pk=log.pk).status == TaskLog.Status.COMPLETED

    def test_a_dead_run_does_not_block_the_next_start(self, make_task):
        task_id = make_task(lambda: {})
        zombie = _running(task_type=task_id, owner=this_host(dead_pid()))

        log = task_log_start(task_id=task_id, trigger="manual")

        assert log.pk is not None
        assert TaskLog.objects.get(pk=zombie.pk).status == TaskLog.Status.INTERRUPTED


_SLOW_RUN = """
import django, sys, time
django.setup()
from tasks.registry import register
from tasks.services.execution import task_execute
register("sleeper", name="Sleeper", schedule="* * * * *")(lambda: time.sleep(60) or {})
print("go", flush=True)
task_execute(task_id="sleeper")
"""


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_with_its_process_is_interrupted_afterwards():
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_RUN],
        cwd=BASE_DIR,
        env=process_env(LOG_LEVEL="error"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "go"
        deadline = time.monotonic() + 20
        while not TaskLog.objects.filter(task_type="sleeper").exists():
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()

    task_logs_reconcile()

    stored = TaskLog.objects.get(task_type="sleeper")
    assert stored.status == TaskLog.Status.INTERRUPTED
    assert stored.owner == this_host(process.pid)


@pytest.mark.django_db
def test_interrupting_all_running_runs_leaves_finished_ones_alone():
    running = _running(owner=this_host(os.getpid()), heartbeat_at=timezone.now())
    finished = TaskLogFactory(task_type="report", status=TaskLog.Status.COMPLETED)

    count = task_logs_interrupt_all(reason="Restored")

    assert count == 1
    assert TaskLog.objects.get(pk=running.pk).error == "Restored"
    assert TaskLog.objects.get(pk=finished.pk).status == TaskLog.Status.COMPLETED
