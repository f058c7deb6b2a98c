"""What the scheduler's jobs do: a scheduled fire, and a queued run request.

APScheduler 3 calls a job's function without the time the fire was due at.
A fire's job carries its schedule as an argument, and the function works
out the fire it runs for from it (``trigger_last_fire``), so the run's log
carries that fire and the unique (task, scheduled_for) constraint lets at
most one process execute each fire. Only public APScheduler API is used.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django_apscheduler.util import close_old_connections

from contract.errors import Conflict, Invalid, NotFound
from tasks.models import Task
from tasks.scheduler.cron import (
    schedule_timezone,
    schedule_trigger,
    trigger_last_fire,
)
from tasks.services.execution import task_execute, task_run_queued

logger = logging.getLogger("autom8.scheduler")


class InFlight:
    """Counts runs in progress so shutdown can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> InFlight:
        with self._idle:
            self._count += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    @property
    def count(self) -> int:
        """Runs in progress right now."""
        return self._count

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for no run in progress; True if none."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=timeout)


in_flight = InFlight()


def fire_time(schedule: str, *, now: datetime | None = None) -> datetime | None:
    """The fire of ``schedule`` a job running now belongs to, or None.

    Fires later than the misfire grace are never run by APScheduler, so
    the search goes no further back.
    """
    try:
        trigger = schedule_trigger(schedule, tz=schedule_timezone())
    except Invalid:
        return None
    within = timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE_SECONDS + 1)
    return trigger_last_fire(trigger, now=now or timezone.now(), within=within)


@close_old_connections
def run_scheduled_fire(
    task_id: str, schedule: str, *, now: datetime | None = None
) -> str:
    """Execute the current fire of a task unless it is off, running or already ran.

    Returns what happened (``executed`` or ``skipped: <reason>``); a skip is
    logged, never raised, so APScheduler records the fire as handled.
    ``now`` stands in for the clock in tests.
    """
    scheduled_for = fire_time(schedule, now=now)
    if scheduled_for is None:
        logger.warning("Job %s ran with no due fire of '%s'", task_id, schedule)
        return "skipped: no fire of the schedule is due"
    with in_flight:
        if not _still_enabled(task_id):
            return _skipped(task_id, scheduled_for, "the task is disabled")
        try:
            task_log = task_execute(
                task_id=task_id, trigger="schedule", scheduled_for=scheduled_for
            )
        except Conflict as exc:
            return _skipped(task_id, scheduled_for, exc.message)
        except NotFound:
            return _skipped(task_id, scheduled_for, "the task is no longer registered")
        logger.info(
            "Scheduled fire of %s at %s ran: %s",
            task_id,
            scheduled_for.isoformat(),
            task_log.status,
        )
        return "executed"


@close_old_connections
def run_requested(log_id: int) -> str:
    """Execute the queued run request ``log_id`` unless another process took it."""
    with in_flight:
        log = task_run_queued(log_id=log_id)
    if log is None:
        logger.info("Run request %s was taken by another scheduler", log_id)
        return "skipped: taken by another scheduler"
    logger.info("Requested run %s of %s ran: %s", log_id, log.task_type, log.status)
    return "executed"


def _still_enabled(task_id: str) -> bool:
    """Whether the task is on; a switch flipped since the last sync wins."""
    try:
        return Task.objects.filter(pk=task_id, is_enabled=True).exists()
    except DatabaseError:
        # The execution service records the run in the fallback file while
        # the database is down; it must not be lost to this check.
        return True


def _skipped(task_id: str, scheduled_for: datetime, reason: str) -> str:
    logger.info(
        "Scheduled fire of %s at %s skipped: %s",
        task_id,
        scheduled_for.isoformat(),
        reason,
    )
    return f"skipped: {reason}"
