"""What a scheduled fire does, and the executor that tells it its fire time.

APScheduler 3 calls a job's function without the run time it was due at.
``FireTimeExecutor`` passes that time on as ``scheduled_for``, so the run's
log carries the fire it belongs to and the unique (task, scheduled_for)
constraint lets at most one process execute each fire.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from django.db import DatabaseError
from django_apscheduler.util import close_old_connections

from contract.errors import Conflict, NotFound
from tasks.models import Task
from tasks.services.execution import task_execute

logger = logging.getLogger("autom8.scheduler")


class InFlight:
    """Counts scheduled runs in progress so shutdown can wait for them."""

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


@close_old_connections
def run_scheduled_fire(task_id: str, *, scheduled_for: datetime | None = None) -> str:
    """Execute one fire of a task unless it was disabled, is running or already ran.

    Returns what happened (``executed`` or ``skipped: <reason>``); a skip is
    logged, never raised, so APScheduler records the fire as handled.
    Without ``scheduled_for`` (django-apscheduler's "run selected jobs"
    admin action calls the job function bare) it is a manual run.
    """
    if scheduled_for is None:
        return _run_now(task_id)
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
            getattr(task_log, "status", "recorded"),
        )
        return "executed"


def _run_now(task_id: str) -> str:
    """A manual run of the task, as the API's run would start it."""
    try:
        task_execute(task_id=task_id, trigger="manual")
    except (Conflict, NotFound) as exc:
        logger.info("Manual run of job %s refused: %s", task_id, exc.message)
        return f"refused: {exc.message}"
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


@dataclass
class _Fire:
    """One run time of a job, shaped as ``run_job`` expects a job to be."""

    job: Any
    run_time: datetime
    kwargs: dict = field(init=False)

    def __post_init__(self) -> None:
        self.kwargs = {**self.job.kwargs, "scheduled_for": self.run_time}

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def func(self):
        return self.job.func

    @property
    def args(self) -> tuple:
        return tuple(self.job.args)

    @property
    def misfire_grace_time(self) -> int | None:
        return self.job.misfire_grace_time

    def __str__(self) -> str:
        return str(self.job)


def _run_fires(
    job: Any, jobstore_alias: str, run_times: list[datetime], logger_name: str
) -> list:
    """APScheduler's ``run_job`` once per run time, each told its own time."""
    events = []
    for run_time in run_times:
        events.extend(
            run_job(_Fire(job, run_time), jobstore_alias, [run_time], logger_name)
        )
    return events


class FireTimeExecutor(ThreadPoolExecutor):
    """A thread pool executor that passes each fire's time as ``scheduled_for``."""

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def callback(future):
            exc = future.exception()
            if exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(
            _run_fires, job, job._jobstore_alias, run_times, self._logger.name
        )
        future.add_done_callback(callback)
