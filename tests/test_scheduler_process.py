"""Real ``runscheduler`` processes on the test database.

The throwaway tasks of ``tests.scheduler_tasks`` fire every second (a
six-field cron, allowed by ``SCHEDULER_ALLOW_SECONDS``). On PostgreSQL the
election is the advisory lock, on SQLite the lease row.
"""

from __future__ import annotations

import importlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone
from django_apscheduler.models import DjangoJob
from rest_framework_simplejwt.tokens import RefreshToken

from tasks import registry
from tasks.models import SchedulerLease, Task, TaskLog
from tasks.selectors import LEASE_NAME
from tasks.services.fallback import fallback_record
from tasks.tests.factories import TaskLogFactory
from tests.factories import AdminFactory
from tests.servers import BASE_DIR, gunicorn_processes, gunicorn_server, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST = {
    "SCHEDULER_ALLOW_SECONDS": "true",
    "SCHEDULER_HEARTBEAT_SECONDS": "1",
    "SCHEDULER_LEASE_SECONDS": "3",
}


class Scheduler:
    """A running ``runscheduler`` child process."""

    def __init__(self, proc: subprocess.Popen, output: Path) -> None:
        self.proc = proc
        self.output = output

    @property
    def owner(self) -> str:
        """Its ``host:pid``, as in leases and task logs."""
        return f"{socket.gethostname()}:{self.proc.pid}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig`` and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def log_text(self) -> str:
        """Everything the process wrote so far."""
        return self.output.read_text(errors="replace")


@pytest.fixture
def test_tasks(settings):
    """``tick`` and ``slow`` registered here too; all other tasks switched off."""
    settings.SCHEDULER_ALLOW_SECONDS = True
    module = importlib.import_module("tests.scheduler_tasks")
    module.install()
    for definition in registry.all_definitions():
        Task.objects.update_or_create(
            id=definition.id,
            defaults={
                "name": definition.name,
                "schedule": definition.default_schedule,
                "is_enabled": False,
            },
        )
    yield
    module.uninstall()


@pytest.fixture
def start_scheduler(tmp_path, test_tasks) -> Iterator[Callable[..., Scheduler]]:
    """Start scheduler processes; every one still running is killed after the test."""
    started: list[Scheduler] = []

    def start(**env: str) -> Scheduler:
        output = tmp_path / f"scheduler-{len(started)}.log"
        handle = output.open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runscheduler",
                "--import",
                "tests.scheduler_tasks",
            ],
            cwd=BASE_DIR,
            env=process_env(
                **{
                    **FAST,
                    "TICK_LOG": str(tmp_path / "ticks.txt"),
                    "TASK_FALLBACK_LOG": str(tmp_path / "task_fallback.jsonl"),
                    **env,
                }
            ),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        scheduler = Scheduler(proc, output)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        if scheduler.proc.poll() is None:
            scheduler.proc.kill()
            scheduler.proc.wait(timeout=10)


def _enable(*task_ids: str) -> None:
    Task.objects.filter(pk__in=task_ids).update(
        is_enabled=True, updated_at=timezone.now()
    )


def _wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> float:
    """Poll ``condition`` until truthy; returns the seconds it took."""
    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if condition():
            return time.monotonic() - begin
        time.sleep(0.1)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


def _leader() -> str:
    lease = SchedulerLease.objects.filter(name=LEASE_NAME).first()
    return lease.owner if lease else ""


def _ticks(tmp_path: Path) -> list[str]:
    path = tmp_path / "ticks.txt"
    return path.read_text().split() if path.exists() else []


def _wait_until_leading(scheduler: Scheduler) -> None:
    _wait_for(
        lambda: _leader() == scheduler.owner or scheduler.proc.poll() is not None,
        timeout=20,
        what="the scheduler to lead",
    )
    assert scheduler.proc.poll() is None, scheduler.log_text()


def test_two_schedulers_execute_every_fire_exactly_once(start_scheduler, tmp_path):
    _enable("tick")
    first, second = start_scheduler(), start_scheduler()
    _wait_for(
        lambda: _leader() in (first.owner, second.owner), timeout=20, what="a leader"
    )
    begin = timezone.now()

    time.sleep(6)

    leader = _leader()
    fires = list(
        TaskLog.objects.filter(task_type="tick", started_at__gte=begin).values_list(
            "scheduled_for", "owner"
        )
    )
    executions = _ticks(tmp_path)
    assert 4 <= len(fires) <= 8
    assert len({scheduled for scheduled, _ in fires}) == len(fires)
    assert {owner for _, owner in fires} == {leader}
    assert len(executions) == TaskLog.objects.filter(task_type="tick").count()
    assert {f"{socket.gethostname()}:{pid}" for pid in executions} == {leader}


def test_killed_leader_is_replaced_within_fifteen_seconds(start_scheduler):
    default_election = {
        "SCHEDULER_HEARTBEAT_SECONDS": "5",
        "SCHEDULER_LEASE_SECONDS": "10",
    }
    _enable("tick")
    leader = start_scheduler(**default_election)
    _wait_until_leading(leader)
    follower = start_scheduler(**default_election)
    _wait_for(
        lambda: TaskLog.objects.filter(owner=leader.owner).exists(),
        timeout=10,
        what="a tick",
    )

    leader.stop(signal.SIGKILL)
    took = _wait_for(
        lambda: TaskLog.objects.filter(
            owner=follower.owner, status="completed"
        ).exists(),
        timeout=15,
        what="the follower to run a fire",
    )

    assert took < 15
    assert _leader() == follower.owner
    fires = list(
        TaskLog.objects.filter(task_type="tick").values_list("scheduled_for", flat=True)
    )
    assert len(set(fires)) == len(fires)


def test_a_follower_runs_nothing(start_scheduler):
    _enable("tick")
    leader = start_scheduler()
    _wait_until_leading(leader)
    follower = start_scheduler()

    time.sleep(3)

    assert follower.proc.poll() is None
    assert not TaskLog.objects.filter(owner=follower.owner).exists()
    assert TaskLog.objects.filter(owner=leader.owner).exists()


def test_disabling_through_the_api_stops_fires_within_five_seconds(
    start_scheduler, admin_client
):
    _enable("tick")
    scheduler = start_scheduler()
    _wait_for(
        lambda: TaskLog.objects.filter(task_type="tick").exists(),
        timeout=20,
        what="a tick",
    )

    response = admin_client.put(
        "/api/v1/tasks/tick/toggle", {"enabled": False}, format="json"
    )
    assert response.status_code == 200
    switched_off = timezone.now()
    _wait_for(
        lambda: not DjangoJob.objects.filter(id="tick").exists(),
        timeout=5,
        what="the tick job to leave the job store",
    )
    time.sleep(2)

    late = TaskLog.objects.filter(
        task_type="tick", scheduled_for__gt=switched_off + timedelta(seconds=1)
    )
    assert not late.exists()
    assert scheduler.proc.poll() is None


def test_enabling_through_the_api_starts_fires_within_five_seconds(
    start_scheduler, admin_client
):
    scheduler = start_scheduler()
    _wait_until_leading(scheduler)

    admin_client.put("/api/v1/tasks/tick/toggle", {"enabled": True}, format="json")

    _wait_for(
        lambda: TaskLog.objects.filter(task_type="tick").exists(),
        timeout=5,
        what="the first tick after enabling",
    )


def test_rescheduling_through_the_api_reaches_the_scheduler_within_five_seconds(
    start_scheduler, admin_client
):
    Task.objects.filter(pk="tick").update(schedule="0 0 1 1 *", is_enabled=True)
    scheduler = start_scheduler()
    _wait_for(
        lambda: DjangoJob.objects.filter(id="tick").exists(), timeout=20, what="the job"
    )

    response = admin_client.put(
        "/api/v1/tasks/tick/schedule", {"schedule": "* * * * * *"}, format="json"
    )
    assert response.status_code == 200

    _wait_for(
        lambda: TaskLog.objects.filter(task_type="tick").exists(),
        timeout=5,
        what="a tick on the new schedule",
    )
    assert scheduler.proc.poll() is None


def test_sigterm_exits_zero_and_clears_the_lease(start_scheduler):
    scheduler = start_scheduler()
    _wait_until_leading(scheduler)

    code = scheduler.stop(signal.SIGTERM)

    assert code == 0, scheduler.log_text()
    assert _leader() == ""


def test_sigterm_lets_a_running_task_finish(start_scheduler):
    _enable("slow")
    scheduler = start_scheduler(SLOW_TASK_SECONDS="2")
    _wait_for(
        lambda: TaskLog.objects.filter(task_type="slow", status="running").exists(),
        timeout=20,
        what="a slow run",
    )

    code = scheduler.stop(signal.SIGTERM)

    assert code == 0, scheduler.log_text()
    statuses = set(
        TaskLog.objects.filter(task_type="slow").values_list("status", flat=True)
    )
    assert statuses == {"completed"}


def test_a_run_cut_off_by_the_grace_is_interrupted_at_the_next_start(start_scheduler):
    _enable("slow")
    scheduler = start_scheduler(SLOW_TASK_SECONDS="30", SHUTDOWN_GRACE_SECONDS="1")
    _wait_for(
        lambda: TaskLog.objects.filter(task_type="slow", status="running").exists(),
        timeout=20,
        what="a slow run",
    )

    begin = time.monotonic()
    code = scheduler.stop(signal.SIGTERM, timeout=10)
    stopped_in = time.monotonic() - begin
    cut_off = TaskLog.objects.get(task_type="slow")
    assert code == 0, scheduler.log_text()
    assert stopped_in < 5
    assert cut_off.status == "running"
    Task.objects.filter(pk="slow").update(is_enabled=False)

    start_scheduler()
    _wait_for(
        lambda: TaskLog.objects.filter(pk=cut_off.pk, status="interrupted").exists(),
        timeout=15,
        what="the cut-off run to be marked interrupted",
    )


def test_sigterm_hands_leadership_over_while_the_run_finishes(start_scheduler):
    # A lease outliving the run: only a release can hand over this fast.
    long_lease = {"SCHEDULER_LEASE_SECONDS": "10", "SLOW_TASK_SECONDS": "6"}
    _enable("slow")
    leader = start_scheduler(**long_lease)
    _wait_until_leading(leader)
    follower = start_scheduler(**long_lease)
    _wait_for(
        lambda: TaskLog.objects.filter(task_type="slow", status="running").exists(),
        timeout=20,
        what="a slow run",
    )
    slow_run = TaskLog.objects.get(task_type="slow", status="running")

    leader.proc.send_signal(signal.SIGTERM)
    took = _wait_for(
        lambda: _leader() == follower.owner, timeout=10, what="the follower to lead"
    )
    old_leader_still_finishing = leader.proc.poll() is None

    assert took < 4
    assert old_leader_still_finishing, leader.log_text()
    assert leader.proc.wait(timeout=15) == 0, leader.log_text()
    slow_run.refresh_from_db()
    assert (slow_run.owner, slow_run.status) == (leader.owner, "completed")
    assert (
        not TaskLog.objects.filter(
            task_type="slow", started_at__lt=slow_run.completed_at
        )
        .exclude(pk=slow_run.pk)
        .exists()
    )


def test_the_fallback_file_is_imported_when_the_scheduler_starts(
    start_scheduler, tmp_path, settings
):
    settings.TASK_FALLBACK_LOG = tmp_path / "task_fallback.jsonl"
    finished = timezone.now() - timedelta(minutes=1)
    offline_run = TaskLogFactory.build(
        task_type="tick",
        task_name="Tick",
        started_at=finished - timedelta(seconds=2),
        completed_at=finished,
    )
    fallback_record(offline_run, event="finish")

    scheduler = start_scheduler()

    _wait_for(
        lambda: TaskLog.objects.filter(run_id=offline_run.run_id).exists(),
        timeout=15,
        what="the run from the fallback file",
    )
    assert TaskLog.objects.get(run_id=offline_run.run_id).status == "completed"
    assert settings.TASK_FALLBACK_LOG.read_text() == ""
    assert scheduler.proc.poll() is None


def _admin_token() -> str:
    return str(RefreshToken.for_user(AdminFactory()).access_token)


def _request_run(base: str, token: str, task_id: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/tasks/{task_id}/run",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_a_manual_run_is_executed_by_the_leader_process(start_scheduler, tmp_path):
    scheduler = start_scheduler()
    _wait_until_leading(scheduler)

    with gunicorn_server(app="tests.scheduler_wsgi") as base:
        response = _request_run(base, _admin_token(), "tick")
    log_id = response.json()["task_log_id"]
    _wait_for(
        lambda: TaskLog.objects.filter(pk=log_id, status="completed").exists(),
        timeout=10,
        what="the requested run to complete",
    )

    log = TaskLog.objects.get(pk=log_id)
    assert response.status_code == 200, response.text
    assert (log.trigger, log.owner) == ("manual", scheduler.owner)
    assert _ticks(tmp_path) == [str(scheduler.proc.pid)]


def test_a_manual_run_starts_within_about_a_second(start_scheduler):
    scheduler = start_scheduler()
    _wait_until_leading(scheduler)

    with gunicorn_server(app="tests.scheduler_wsgi") as base:
        log_id = _request_run(base, _admin_token(), "tick").json()["task_log_id"]
        took = _wait_for(
            lambda: not TaskLog.objects.filter(pk=log_id, status="queued").exists(),
            timeout=10,
            what="the leader to pick the request up",
        )

    assert took < 2.5


def test_restarting_the_web_workers_does_not_interrupt_a_manual_run(
    start_scheduler,
):
    scheduler = start_scheduler(SLOW_TASK_SECONDS="4")
    _wait_until_leading(scheduler)

    with gunicorn_server(app="tests.scheduler_wsgi") as base:
        master, workers = gunicorn_processes(base)
        log_id = _request_run(base, _admin_token(), "slow").json()["task_log_id"]
        _wait_for(
            lambda: TaskLog.objects.filter(pk=log_id, status="running").exists(),
            timeout=10,
            what="the slow run to start",
        )
        for worker in workers:
            worker.kill()
        _wait_for(
            lambda: (
                TaskLog.objects.filter(pk=log_id).exclude(status="running").exists()
            ),
            timeout=20,
            what="the slow run to end",
        )
        replaced = {w.pid for w in master.children()}

    log = TaskLog.objects.get(pk=log_id)
    assert (log.status, log.owner) == ("completed", scheduler.owner)
    assert replaced.isdisjoint({w.pid for w in workers})


def test_a_queued_run_survives_the_scheduler_and_the_next_leader_runs_it(
    start_scheduler, tmp_path
):
    with gunicorn_server(app="tests.scheduler_wsgi") as base:
        first = start_scheduler()
        _wait_until_leading(first)
        first.proc.send_signal(signal.SIGSTOP)  # alive to the API, deaf to requests
        try:
            response = _request_run(base, _admin_token(), "tick")
        finally:
            first.stop(signal.SIGKILL)
    log_id = response.json()["task_log_id"]
    assert TaskLog.objects.get(pk=log_id).status == "queued"

    second = start_scheduler()
    _wait_for(
        lambda: TaskLog.objects.filter(pk=log_id, status="completed").exists(),
        timeout=20,
        what="the next leader to run the queued request",
    )

    assert TaskLog.objects.get(pk=log_id).owner == second.owner
    assert _ticks(tmp_path) == [str(second.proc.pid)]


def test_two_schedulers_execute_each_manual_request_exactly_once(
    start_scheduler, tmp_path
):
    first, second = start_scheduler(), start_scheduler()
    _wait_for(
        lambda: _leader() in (first.owner, second.owner), timeout=20, what="a leader"
    )
    token = _admin_token()

    with gunicorn_server(app="tests.scheduler_wsgi") as base:
        for _ in range(4):
            log_id = _request_run(base, token, "tick").json()["task_log_id"]
            _wait_for(
                lambda log_id=log_id: TaskLog.objects.filter(
                    pk=log_id, status="completed"
                ).exists(),
                timeout=10,
                what="a requested run",
            )

    logs = TaskLog.objects.filter(task_type="tick", trigger="manual")
    assert logs.count() == 4
    assert {log.owner for log in logs} == {_leader()}
    assert len(_ticks(tmp_path)) == 4


def test_without_a_scheduler_a_run_request_is_refused_and_nothing_is_queued(
    test_tasks,
):
    with gunicorn_server(app="tests.scheduler_wsgi") as base:
        response = _request_run(base, _admin_token(), "tick")

    assert response.status_code == 503
    assert "manage.py runscheduler" in response.json()["message"]
    assert not TaskLog.objects.exists()
