"""Run owners (``host:pid``) and the reconciliation of runs whose owner died.

The rule, in order, for a log still ``running``:

1. Owner on this host: the run is a zombie when its pid no longer exists,
   or when the pid now belongs to a process created after the run started
   (the pid was reused). A live owner keeps its run, however old, as long
   as the run's heartbeat (refreshed every ``TASK_HEARTBEAT_SECONDS`` by
   the running process, see ``tasks.services.execution``) is not older than
   ``TASK_STALE_SECONDS``: a live pid with a stale heartbeat no longer runs
   it (a row brought back by a database restore, say).
2. Owner on another host: its pid cannot be checked from here, so the run
   is a zombie only when its heartbeat is older than ``TASK_STALE_SECONDS``.
   A run alive on another host keeps its heartbeat fresh and is left alone.
3. A log without a parsable owner is treated like another host's.

Runs started while the database was down beat too: their beats fail until
the database is back and the run imported from the fallback file, then
keep the imported row fresh.

Zombies become ``interrupted`` with the reason in ``error``. If the run
later turns out to have finished (its outcome arrives from the fallback
file or from a run the reconciler misjudged), the real outcome replaces
``interrupted``.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

import psutil
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tasks.models import TaskLog

logger = logging.getLogger(__name__)

# A process started within this margin after the run is still its owner
# (clocks of create_time and started_at are read at slightly different times).
_PID_REUSE_MARGIN = timedelta(seconds=2)


def current_owner() -> str:
    """``host:pid`` of this process, as stored in ``TaskLog.owner``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def local_pid(owner: str) -> int | None:
    """The pid of ``owner`` (``host:pid``) when it is on this host, else None."""
    parsed = owner_parse(owner)
    if parsed is None or parsed[0] != socket.gethostname():
        return None
    return parsed[1]


def owner_parse(owner: str) -> tuple[str, int] | None:
    """``(host, pid)`` from ``host:pid``, or None when malformed."""
    host, sep, pid = (owner or "").rpartition(":")
    if not sep or not host or not pid.isdigit():
        return None
    return host, int(pid)


def pid_is_alive(pid: int, *, started_at: datetime | None = None) -> bool:
    """Whether process ``pid`` runs here and is older than ``started_at``."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True
    if started_at is None:
        return True
    return (
        datetime.fromtimestamp(created, tz=started_at.tzinfo)
        <= started_at + _PID_REUSE_MARGIN
    )


def zombie_reason(log: TaskLog, *, now: datetime) -> str | None:
    """Why ``log`` (running) is a zombie, or None when its run may be alive."""
    pid = local_pid(log.owner)
    is_local = pid is not None
    if is_local and not pid_is_alive(pid, started_at=log.started_at):
        return f"Owner process {log.owner} is no longer running"
    last_sign = log.heartbeat_at or log.started_at
    stale_after = timedelta(seconds=settings.TASK_STALE_SECONDS)
    if now - last_sign <= stale_after:
        return None
    owner = log.owner or "unknown owner"
    if is_local:
        return (
            f"Owner process {owner} is alive but sent no heartbeat for over "
            f"{settings.TASK_STALE_SECONDS} seconds"
        )
    return f"No heartbeat from {owner} for over {settings.TASK_STALE_SECONDS} seconds"


def task_log_interrupt(
    log: TaskLog, *, reason: str, now: datetime | None = None
) -> bool:
    """Mark ``log`` interrupted if it is still running; True when it changed."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = TaskLog.objects.filter(
            pk=log.pk, status=TaskLog.Status.RUNNING
        ).update(status=TaskLog.Status.INTERRUPTED, completed_at=now, error=reason)
    if changed:
        logger.warning(
            "Task run %s (%s) interrupted: %s", log.run_id, log.task_type, reason
        )
        log.status, log.completed_at, log.error = (
            TaskLog.Status.INTERRUPTED,
            now,
            reason,
        )
    return bool(changed)


def task_logs_reconcile(
    *, now: datetime | None = None, task_type: str | None = None
) -> int:
    """Mark running logs whose owner is dead as interrupted; returns how many.

    ``task_type`` limits the sweep to one task. See the module docstring for
    when an owner counts as dead.
    """
    now = now or timezone.now()
    running = TaskLog.objects.filter(status=TaskLog.Status.RUNNING)
    if task_type is not None:
        running = running.filter(task_type=task_type)
    count = 0
    for log in running:
        reason = zombie_reason(log, now=now)
        if reason is not None and task_log_interrupt(log, reason=reason, now=now):
            count += 1
    return count


def task_logs_interrupt_all(*, reason: str, now: datetime | None = None) -> int:
    """Mark every running log interrupted with ``reason``; returns how many.

    For a database just restored from a backup: its running rows were
    captured mid-run, and no process runs them any more.
    """
    now = now or timezone.now()
    with transaction.atomic():
        count = TaskLog.objects.filter(status=TaskLog.Status.RUNNING).update(
            status=TaskLog.Status.INTERRUPTED, completed_at=now, error=reason
        )
    if count:
        logger.warning("%d task run(s) interrupted: %s", count, reason)
    return count
