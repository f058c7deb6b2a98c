"""Reads of the automation engine: scheduler state, tasks, task logs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from contract.errors import Invalid, cursor_invalid
from security.paging import cursor_read, cursor_sign, page_window_check
from tasks import registry
from tasks.models import (
    TASK_LOG_LIST_DEFAULT_LIMIT,
    TASK_LOG_LIST_MAX_LIMIT,
    SchedulerLease,
    Task,
    TaskLog,
)
from tasks.scheduler.cron import schedule_next_run, schedule_trigger

LEASE_NAME = "scheduler"
LOG_CURSOR_SALT = "tasks.log_list.cursor"


@dataclass(frozen=True)
class TaskLogPage:
    """One page of a task log listing and what is needed to continue it."""

    logs: list[TaskLog]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


@dataclass(frozen=True)
class SchedulerState:
    """Who leads the scheduler and how fresh its heartbeat is."""

    health: str  # "ok" | "stale" | "not_running"
    leader: str | None
    heartbeat_at: datetime | None

    @property
    def running(self) -> bool:
        """A leader has beaten its heart within the lease."""
        return self.health == "ok"


@dataclass(frozen=True)
class TaskOverview:
    """A task with its last run, its next fire and its trigger's description."""

    task: Task
    last_log: TaskLog | None
    next_run: datetime | None
    trigger: str


@dataclass(frozen=True)
class SchedulerStatus:
    """The scheduler's state and every task as one of its jobs."""

    running: bool
    leader: str | None
    heartbeat_at: datetime | None
    jobs: list[TaskOverview]


def scheduler_state(*, now: datetime | None = None) -> SchedulerState:
    """The scheduler's state from the lease row.

    ``ok`` while the leader's heartbeat is younger than the lease,
    ``stale`` once it is older (the leader hung or died without releasing),
    ``not_running`` when no scheduler holds or ever held the lease.
    """
    now = now or timezone.now()
    lease = SchedulerLease.objects.filter(name=LEASE_NAME).first()
    if lease is None or not lease.owner or lease.heartbeat_at is None:
        return SchedulerState(health="not_running", leader=None, heartbeat_at=None)
    age = now - lease.heartbeat_at
    if age <= timedelta(seconds=settings.SCHEDULER_LEASE_SECONDS):
        return SchedulerState(
            health="ok", leader=lease.owner, heartbeat_at=lease.heartbeat_at
        )
    return SchedulerState(health="stale", leader=None, heartbeat_at=None)


def scheduler_status(*, now: datetime | None = None) -> SchedulerStatus:
    """Who leads the scheduler, its last heartbeat, and the job of every task."""
    now = now or timezone.now()
    state = scheduler_state(now=now)
    return SchedulerStatus(
        running=state.running,
        leader=state.leader,
        heartbeat_at=state.heartbeat_at,
        jobs=task_list(now=now),
    )


def task_list(*, now: datetime | None = None) -> list[TaskOverview]:
    """Every registered task, ordered by id, in three queries at most.

    A registered task without a row yet (a fresh database before the
    scheduler first started) is shown with its registry defaults, unsaved.
    """
    return _overviews(registry.all_definitions(), now=now or timezone.now())


def task_get(*, task_id: str, now: datetime | None = None) -> TaskOverview | None:
    """The registered task with this id, or None."""
    definition = registry.get_definition(task_id)
    if definition is None:
        return None
    return _overviews([definition], now=now or timezone.now())[0]


def task_overview(task: Task, *, now: datetime | None = None) -> TaskOverview:
    """``task`` (a row already read) with its last run and next fire."""
    definition = registry.get_definition(task.pk)
    if definition is None:
        next_run, trigger = _fire_plan(task, now=now or timezone.now())
        return TaskOverview(
            task=task, last_log=None, next_run=next_run, trigger=trigger
        )
    return _overviews([definition], now=now or timezone.now(), rows={task.pk: task})[0]


def task_unseeded_list() -> list[registry.TaskDefinition]:
    """Registered tasks that have no Task row yet, in registry order."""
    definitions = registry.all_definitions()
    seeded = set(
        Task.objects.filter(pk__in=[d.id for d in definitions]).values_list(
            "pk", flat=True
        )
    )
    return [definition for definition in definitions if definition.id not in seeded]


def task_log_list(
    *,
    task_type: str | None = None,
    status: str | None = None,
    limit: int = TASK_LOG_LIST_DEFAULT_LIMIT,
    offset: int = 0,
    cursor: str | None = None,
) -> TaskLogPage:
    """A page of task logs, newest first, optionally of one type and status.

    ``cursor`` (from ``next_cursor``) continues after the last log of the
    previous page with a keyset condition, so deep pages cost no offset
    scan. Two queries whatever the page size. Raises Invalid naming a bad
    ``limit``, ``offset`` or ``cursor``.
    """
    page_window_check(limit=limit, offset=offset, max_limit=TASK_LOG_LIST_MAX_LIMIT)
    logs = TaskLog.objects.all()
    if task_type:
        logs = logs.filter(task_type=task_type)
    if status:
        logs = logs.filter(status=status)
    total = logs.count()
    if cursor is not None:
        if offset:
            raise Invalid("offset cannot be combined with cursor", field="offset")
        logs = logs.filter(_log_after(cursor))
    rows = list(logs.order_by("-started_at", "-id")[offset : offset + limit + 1])
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = cursor_sign(
            {"k": last.started_at.isoformat(), "i": last.pk}, salt=LOG_CURSOR_SALT
        )
    return TaskLogPage(
        logs=page, total=total, limit=limit, offset=offset, next_cursor=next_cursor
    )


def task_log_get(*, task_log_id: int) -> TaskLog | None:
    """The task log with this id, or None."""
    return TaskLog.objects.filter(pk=task_log_id).first()


def _log_after(raw: str) -> Q:
    """Keyset condition: logs strictly after the cursor, newest first."""
    data = cursor_read(raw, salt=LOG_CURSOR_SALT)
    last_id = data.get("i")
    try:
        started_at = datetime.fromisoformat(data.get("k"))
    except (TypeError, ValueError) as exc:
        raise cursor_invalid() from exc
    if not isinstance(last_id, int) or started_at.tzinfo is None:
        raise cursor_invalid()
    return Q(started_at__lt=started_at) | Q(started_at=started_at, id__lt=last_id)


def task_log_queued_ids() -> list[int]:
    """Ids of the queued run requests, oldest first."""
    return list(
        TaskLog.objects.filter(status=TaskLog.Status.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)
    )


def task_log_stats() -> dict[str, int]:
    """Counts of all task logs, in total and per status, in one query."""
    return TaskLog.objects.aggregate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=TaskLog.Status.COMPLETED)),
        failed=Count("id", filter=Q(status=TaskLog.Status.FAILED)),
        running=Count("id", filter=Q(status=TaskLog.Status.RUNNING)),
        interrupted=Count("id", filter=Q(status=TaskLog.Status.INTERRUPTED)),
    )


def _overviews(
    definitions: list, *, now: datetime, rows: dict[str, Task] | None = None
) -> list[TaskOverview]:
    ids = [definition.id for definition in definitions]
    if rows is None:
        rows = {task.pk: task for task in Task.objects.filter(pk__in=ids)}
    newest = (
        TaskLog.objects.filter(task_type=OuterRef("task_type"))
        .order_by("-started_at", "-id")
        .values("id")[:1]
    )
    last_logs = {
        log.task_type: log
        for log in TaskLog.objects.filter(task_type__in=ids, id=Subquery(newest))
    }
    overviews = []
    for definition in definitions:
        task = rows.get(definition.id) or Task(
            id=definition.id, name=definition.name, schedule=definition.default_schedule
        )
        next_run, trigger = _fire_plan(task, now=now)
        overviews.append(
            TaskOverview(
                task=task,
                last_log=last_logs.get(definition.id),
                next_run=next_run,
                trigger=trigger,
            )
        )
    return overviews


def _fire_plan(task: Task, *, now: datetime) -> tuple[datetime | None, str]:
    """The next fire (None when disabled) and the trigger's description."""
    try:
        trigger = str(schedule_trigger(task.schedule))
        next_run = (
            schedule_next_run(task.schedule, now=now) if task.is_enabled else None
        )
    except Invalid:  # a schedule edited outside the API; the scheduler skips it too
        return None, "invalid"
    return next_run, trigger


def task_with_runs(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """``tasks`` annotated with ``last_run_at``, ``last_status`` and ``run_count``.

    Subqueries, so a page of tasks costs one query whatever its length.
    """
    newest = TaskLog.objects.filter(task_type=OuterRef("pk")).order_by(
        "-started_at", "-id"
    )
    runs = (
        TaskLog.objects.filter(task_type=OuterRef("pk"))
        .order_by()
        .values("task_type")
        .annotate(n=Count("id"))
        .values("n")
    )
    return tasks.annotate(
        last_run_at=Subquery(newest.values("started_at")[:1]),
        last_status=Subquery(newest.values("status")[:1]),
        run_count=Coalesce(Subquery(runs, output_field=IntegerField()), 0),
    )


def task_next_run(task: Task, *, now: datetime | None = None) -> datetime | None:
    """The task's next fire; None when disabled or its schedule is invalid."""
    return _fire_plan(task, now=now or timezone.now())[0]


# --- files written by tasks (backups, reports) ---------------------------------

TASK_FILE_KINDS = ("backups", "reports")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")


@dataclass(frozen=True)
class TaskFile:
    """A backup or report file on disk."""

    kind: str
    name: str
    size: int
    modified_at: datetime


def _task_file_dir(kind: str) -> Path | None:
    folders = {"backups": settings.BACKUP_DIR, "reports": settings.REPORT_DIR}
    folder = folders.get(kind)
    return Path(folder).resolve() if folder else None


def task_file_path(*, kind: str, name: str) -> Path | None:
    """The file ``name`` directly inside the ``kind`` folder, or None.

    None for an unknown kind, a name that is not a plain file name (no
    separators, no leading dot), or a path that leaves the folder once
    links are resolved.
    """
    folder = _task_file_dir(kind)
    if folder is None or not _FILE_NAME.fullmatch(name):
        return None
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def task_file_list() -> list[TaskFile]:
    """Every backup and report file, newest first."""
    files = []
    for kind in TASK_FILE_KINDS:
        folder = _task_file_dir(kind)
        if folder is None or not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if task_file_path(kind=kind, name=entry.name) is None:
                continue
            stat = entry.stat()
            files.append(
                TaskFile(
                    kind=kind,
                    name=entry.name,
                    size=stat.st_size,
                    modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                )
            )
    return sorted(files, key=lambda file: file.modified_at, reverse=True)
