"""The one path every task run takes: log the start, run, log the outcome, alert.

Task code runs in two places only: the scheduler process (scheduled fires
and run requests) and ``manage.py runtask`` (the operator's foreground
run). The API and the admin never run a task: ``task_run_request`` records
a ``queued`` log, which the scheduler leader claims (``task_run_claim``)
and executes in its pool (``task_run_queued``). So a web deploy never cuts
a run in half, and web workers hold no task threads.

A task's exception never escapes: it becomes a ``failed`` log with a
sanitised error. When the database is down at the start or the end of a
run, the record goes to the fallback file (``tasks.services.fallback``).
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import (
    Error,
    IntegrityError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone

from contract.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from security.metrics import task_run_record
from tasks.models import TaskLog
from tasks.registry import TaskDefinition, get_definition
from tasks.selectors import scheduler_state
from tasks.services.alerts import task_failure_alert
from tasks.services.fallback import (
    DATABASE_DOWN_ERRORS,
    fallback_record,
    task_log_import,
)
from tasks.services.sanitize import error_sanitise
from tasks.services.zombies import current_owner, task_logs_reconcile

logger = logging.getLogger(__name__)

NO_SCHEDULER_MESSAGE = (
    "No scheduler process is running, so the run cannot start; "
    "start one with 'python manage.py runscheduler'"
)


def _definition(task_id: str) -> TaskDefinition:
    """The registered task ``task_id``. Raises NotFound."""
    definition = get_definition(task_id)
    if definition is None:
        raise NotFound(f"Task '{task_id}' not found")
    return definition


def _refresh_connection() -> None:
    """Drop a broken or expired connection, unless a caller's transaction is open."""
    if not connection.in_atomic_block:
        close_old_connections()


def _new_log(
    definition: TaskDefinition, *, trigger: str, scheduled_for: datetime | None
) -> TaskLog:
    """An unsaved running log of ``definition`` owned by this process."""
    if trigger not in TaskLog.Trigger.values:
        raise Invalid(f"Unknown trigger {trigger!r}", field="trigger")
    now = timezone.now()
    return TaskLog(
        task_type=definition.id,
        task_name=definition.name,
        status=TaskLog.Status.RUNNING,
        trigger=trigger,
        scheduled_for=scheduled_for,
        owner=current_owner(),
        started_at=now,
        heartbeat_at=now,
    )


def _conflict(task_id: str, scheduled_for: datetime | None) -> Conflict:
    """The Conflict for a start refused by the one-run constraints."""
    if (
        scheduled_for is not None
        and TaskLog.objects.filter(
            task_type=task_id, scheduled_for=scheduled_for
        ).exists()
    ):
        return Conflict(
            f"Task '{task_id}' already ran for the fire at {scheduled_for.isoformat()}"
        )
    return Conflict(f"Task '{task_id}' is already queued or running")


def task_log_start(
    *, task_id: str, trigger: str, scheduled_for: datetime | None = None
) -> TaskLog:
    """Create the running log of a new run of ``task_id``.

    Raises NotFound for an unknown task, and Conflict when a run of the task
    is still running with a live owner or when the fire ``scheduled_for``
    already has a log; unique constraints decide races between processes.
    Runs of dead owners are first marked interrupted, so they never block.
    Database outages propagate (``task_execute`` turns them into a
    fallback record).
    """
    definition = _definition(task_id)
    log = _new_log(definition, trigger=trigger, scheduled_for=scheduled_for)
    task_logs_reconcile(now=log.started_at, task_type=task_id)
    try:
        with transaction.atomic():
            # Stamped inside the transaction (on SQLite, once the write lock
            # is held), not before waiting for it: a run never appears to
            # start before the previous run of the task was recorded ended.
            log.started_at = log.heartbeat_at = timezone.now()
            log.save()
    except IntegrityError as exc:
        raise _conflict(task_id, scheduled_for) from exc
    return log


def _result_text(result: Any) -> str | None:
    """The stored JSON text of a task's result."""
    if result is None:
        return None
    return json.dumps(result, default=str, separators=(", ", ": "))


def _finish_row(log: TaskLog) -> None:
    """Write ``log``'s outcome; creates the row if only the file has its start."""
    fields = {
        name: getattr(log, name)
        for name in ("status", "completed_at", "result", "error")
    }
    if TaskLog.objects.filter(run_id=log.run_id).update(**fields):
        return
    task_log_import(log, event="finish")


def task_log_finish(
    log: TaskLog,
    *,
    result: Any = None,
    error: str | BaseException | None = None,
    status: str | None = None,
) -> TaskLog:
    """Record the outcome of ``log``: failed when ``error`` is given, else completed.

    ``error`` may be an exception (sanitised here) or an already safe text.
    When the database is down the outcome goes to the fallback file.
    """
    if isinstance(error, BaseException):
        error = error_sanitise(error)
    log.status = status or (
        TaskLog.Status.FAILED if error else TaskLog.Status.COMPLETED
    )
    log.completed_at = timezone.now()
    log.result = _result_text(result)
    log.error = error or None
    try:
        _refresh_connection()
        _finish_row(log)
    except DATABASE_DOWN_ERRORS:
        fallback_record(log, event="finish")
    task_run_record(
        task=log.task_type,
        status=log.status,
        started_at=log.started_at,
        ended_at=log.completed_at,
    )
    return log


def _origin(exc: BaseException) -> str:
    """``file:line in function`` where ``exc`` was raised, for the server log."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown location"
    # The innermost frame of project code says more than one inside a library.
    own = [f for f in frames if "site-packages" not in f.filename]
    frame = (own or frames)[-1]
    try:
        filename = str(Path(frame.filename).relative_to(settings.BASE_DIR))
    except ValueError:
        filename = Path(frame.filename).name
    return f"{filename}:{frame.lineno} in {frame.name}"


class _Heartbeat:
    """Refreshes a running log's ``heartbeat_at`` from a side thread.

    A run started while the database was down beats too: its beats fail or
    find no row until the fallback file is imported, then keep that row
    fresh, so no scheduler takes the live run for a zombie.
    """

    def __init__(self, log: TaskLog) -> None:
        self._run_id = log.run_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Heartbeat:
        self._thread = threading.Thread(
            target=self._beat, name=f"heartbeat-{self._run_id}", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.TASK_HEARTBEAT_SECONDS):
                try:
                    TaskLog.objects.filter(
                        run_id=self._run_id, status=TaskLog.Status.RUNNING
                    ).update(heartbeat_at=timezone.now())
                except Error:
                    logger.warning("Heartbeat of task run %s not written", self._run_id)
                    _close_connection()
        finally:
            _close_connection()


def _close_connection() -> None:
    """Close this thread's database connection, even a broken one."""
    try:
        connection.close()
    except Error:
        logger.debug("Closing a broken database connection failed", exc_info=True)


def _run(log: TaskLog, definition: TaskDefinition) -> TaskLog:
    """Run ``definition`` for the started ``log`` and record the outcome."""
    # Inside a caller's transaction a savepoint keeps a task's failed query
    # from aborting that transaction (outside one, each query autocommits).
    isolation = transaction.atomic if connection.in_atomic_block else nullcontext
    with _Heartbeat(log):
        try:
            with isolation():
                result = definition.func()
        except KeyboardInterrupt:
            task_log_finish(
                log, error="Interrupted by a signal", status=TaskLog.Status.INTERRUPTED
            )
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a task never breaks its caller
            error = error_sanitise(exc)
            logger.error(
                "Task %s run %s failed at %s: %s",
                log.task_type,
                log.run_id,
                _origin(exc),
                error,
            )
            task_log_finish(log, error=error)
        else:
            task_log_finish(log, result=result)
            logger.info("Task %s run %s completed", log.task_type, log.run_id)
    if log.status == TaskLog.Status.FAILED:
        task_failure_alert(log)
    return log


def task_execute(
    *, task_id: str, trigger: str = "manual", scheduled_for: datetime | None = None
) -> TaskLog:
    """Run ``task_id`` now, synchronously, and return its finished log.

    Raises NotFound for an unknown task and Conflict as ``task_log_start``
    does; the task's own exceptions never escape (the log says ``failed``).
    """
    definition = _definition(task_id)
    _refresh_connection()
    try:
        log = task_log_start(
            task_id=task_id, trigger=trigger, scheduled_for=scheduled_for
        )
    except DATABASE_DOWN_ERRORS:
        log = _new_log(definition, trigger=trigger, scheduled_for=scheduled_for)
        fallback_record(log, event="start")
    return _run(log, definition)


def task_run_request(*, task_id: str) -> TaskLog:
    """Ask the scheduler to run ``task_id`` now; returns the ``queued`` log.

    Raises NotFound for an unknown task, ServiceUnavailable when no
    scheduler process is alive to pick the request up (nothing is queued
    then), and Conflict when a run of the task is already queued or running.
    """
    definition = _definition(task_id)
    if not scheduler_state().running:
        raise ServiceUnavailable(NO_SCHEDULER_MESSAGE)
    now = timezone.now()
    task_logs_reconcile(now=now, task_type=task_id)
    log = TaskLog(
        task_type=definition.id,
        task_name=definition.name,
        status=TaskLog.Status.QUEUED,
        trigger=TaskLog.Trigger.MANUAL,
        started_at=now,
    )
    try:
        with transaction.atomic():
            log.save()
    except IntegrityError as exc:
        raise _conflict(task_id, None) from exc
    logger.info("Task %s run requested (task log %s)", task_id, log.pk)
    return log


def task_run_claim(*, log_id: int) -> TaskLog | None:
    """Turn the queued log ``log_id`` into this process's running run.

    Returns the running log, or None when it is no longer queued (another
    scheduler claimed it, or it was given up): the conditional update lets
    exactly one process win, however many race.
    """
    now = timezone.now()
    claimed = TaskLog.objects.filter(pk=log_id, status=TaskLog.Status.QUEUED).update(
        status=TaskLog.Status.RUNNING,
        owner=current_owner(),
        started_at=now,
        heartbeat_at=now,
    )
    if not claimed:
        return None
    return TaskLog.objects.get(pk=log_id)


def task_run_queued(*, log_id: int) -> TaskLog | None:
    """Claim and execute the run request ``log_id``; its finished log, or None.

    None when another process claimed it first. A request for a task that
    is no longer registered fails with that reason instead of running.
    """
    _refresh_connection()
    log = task_run_claim(log_id=log_id)
    if log is None:
        return None
    definition = get_definition(log.task_type)
    if definition is None:
        return task_log_finish(
            log, error=f"Task '{log.task_type}' is no longer registered"
        )
    return _run(log, definition)


def task_run_requests_expire(*, now: datetime | None = None) -> int:
    """Give up run requests queued longer than ``TASK_QUEUE_TIMEOUT_SECONDS``.

    Returns how many; each becomes ``interrupted`` with the reason, so a
    request made while every scheduler was gone does not run hours later.
    """
    now = now or timezone.now()
    timeout = settings.TASK_QUEUE_TIMEOUT_SECONDS
    expired = TaskLog.objects.filter(
        status=TaskLog.Status.QUEUED,
        started_at__lt=now - timedelta(seconds=timeout),
    ).update(
        status=TaskLog.Status.INTERRUPTED,
        completed_at=now,
        error=f"No scheduler picked the run request up within {timeout} seconds",
    )
    if expired:
        logger.warning("%d queued run request(s) given up after %ss", expired, timeout)
    return expired
