"""Public v1 shapes of tasks, task logs and the scheduler; their payload parsers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from contract.errors import Invalid
from contract.query import (
    parse_known_params,
    parse_limit,
    parse_offset,
)
from contract.time import iso_utc
from tasks.models import TASK_LOG_LIST_MAX_LIMIT, Task, TaskLog

TASK_KEYS = ("id", "name", "schedule", "enabled", "last_run", "next_run", "status")
TASK_LOG_STATUSES = tuple(TaskLog.Status.values)
TASK_LOG_LIST_KEYS = ("count", "total", "logs", "next_cursor")
TASK_LOG_QUERY_PARAMS = ("task_type", "status", "limit", "offset", "cursor")
TASK_TYPE_MAX_LENGTH = 64

# A task's ``status`` names the outcome of its last run; a log's ``status``
# names the run's state, where a finished good run is ``completed``.
_RUN_OUTCOME = {
    TaskLog.Status.QUEUED: "queued",
    TaskLog.Status.COMPLETED: "success",
    TaskLog.Status.FAILED: "failed",
    TaskLog.Status.RUNNING: "running",
    TaskLog.Status.INTERRUPTED: "interrupted",
}


def task_to_dict(
    task: Task, *, last_log: TaskLog | None, next_run: datetime | None
) -> dict:
    """The task object: fixed keys; ``next_run`` is None when disabled."""
    return {
        "id": task.pk,
        "name": task.name,
        "schedule": task.schedule,
        "enabled": task.is_enabled,
        "last_run": iso_utc(last_log.started_at) if last_log else None,
        "next_run": iso_utc(next_run) if task.is_enabled else None,
        "status": _RUN_OUTCOME.get(last_log.status) if last_log else None,
    }


def task_list_body(tasks: list[dict]) -> dict:
    """``GET /tasks``: the task objects under ``tasks``."""
    return {"tasks": tasks}


def task_run_body(task_id: str, task_log: TaskLog) -> dict:
    """``POST /tasks/{id}/run``: the started run's log id, also as ``job_id``."""
    return {
        "message": f"Task '{task_id}' started successfully",
        "job_id": str(task_log.pk),
        "task_log_id": task_log.pk,
    }


def task_toggle_body(task: Task) -> dict:
    """``PUT /tasks/{id}/toggle``: the new switch position."""
    word = "enabled" if task.is_enabled else "disabled"
    return {
        "id": task.pk,
        "enabled": task.is_enabled,
        "message": f"Task {word} successfully",
    }


def scheduler_job_to_dict(
    task: Task, *, next_run: datetime | None, trigger: str
) -> dict:
    """One scheduler job: a task as the scheduler sees it."""
    return {
        "id": task.pk,
        "name": task.name,
        "next_run_time": iso_utc(next_run) if task.is_enabled else None,
        "trigger": trigger,
        "enabled": task.is_enabled,
    }


class TaskPlan(Protocol):
    """A task with its next fire and its trigger's description."""

    task: Task
    next_run: datetime | None
    trigger: str


class SchedulerView(Protocol):
    """The scheduler's state and its jobs, as the selector reports them."""

    running: bool
    leader: str | None
    heartbeat_at: datetime | None
    jobs: Sequence[TaskPlan]


def scheduler_status_body(status: SchedulerView) -> dict:
    """``GET /scheduler/status``; ``leader``, ``heartbeat_at`` None unless running."""
    running = status.running
    return {
        "running": running,
        "leader": status.leader if running else None,
        "heartbeat_at": iso_utc(status.heartbeat_at) if running else None,
        "jobs": [
            scheduler_job_to_dict(job.task, next_run=job.next_run, trigger=job.trigger)
            for job in status.jobs
        ],
    }


def scheduler_job_action_body(task_id: str, action: str) -> dict:
    """``POST /scheduler/jobs/{id}/<action>``; ``action`` is the past participle."""
    return {"status": "success", "message": f"Job {task_id} {action} successfully"}


def task_log_to_dict(log: TaskLog) -> dict:
    """The task log object; ``error`` None when the run did not fail."""
    return {
        "id": log.pk,
        "task_type": log.task_type,
        "task_name": log.task_name,
        "status": log.status,
        "started_at": iso_utc(log.started_at),
        "completed_at": iso_utc(log.completed_at),
        "result": log.result or None,
        "error": log.error or None,
    }


def task_log_list_body(
    logs: list[TaskLog], *, total: int, next_cursor: str | None
) -> dict:
    """``GET /task_logs``: the logs, how many were returned and how many
    match; ``next_cursor`` continues the listing, None on the last page."""
    return {
        "count": len(logs),
        "total": total,
        "logs": [task_log_to_dict(log) for log in logs],
        "next_cursor": next_cursor,
    }


def task_log_stats_body(counts: Mapping[str, int]) -> dict:
    """``GET /task_logs/stats``; ``success_rate`` in percent, 2 decimals, 0 if empty."""
    total = counts["total"]
    rate = round(counts["completed"] / total * 100, 2) if total else 0.0
    return {
        "total_executions": total,
        "completed": counts["completed"],
        "failed": counts["failed"],
        "running": counts["running"],
        "interrupted": counts["interrupted"],
        "success_rate": rate,
    }


def parse_toggle_payload(data: object) -> bool:
    """The ``enabled`` flag of a toggle body. Raises Invalid unless a JSON boolean."""
    if not isinstance(data, Mapping) or "enabled" not in data:
        raise Invalid("enabled is required and must be true or false", field="enabled")
    enabled = data["enabled"]
    if not isinstance(enabled, bool):
        raise Invalid("enabled must be a boolean (true or false)", field="enabled")
    return enabled


def parse_schedule_payload(data: object) -> str:
    """The ``schedule`` text of a reschedule body; cron checks are the service's."""
    if not isinstance(data, Mapping) or not isinstance(data.get("schedule"), str):
        raise Invalid(
            "schedule is required and must be a cron expression", field="schedule"
        )
    return data["schedule"]


def parse_task_log_query(params: Mapping[str, str]) -> dict:
    """The task log query parameters present; absent ones are left out so
    the selector's defaults apply, limit and offset as integers.

    Unknown parameters are ignored. Raises Invalid naming a known parameter
    that is empty or blank, holds control characters, a ``status`` that is
    not a log status, a ``limit`` that is not a whole number from 1 to 500,
    an ``offset`` below 0 or a ``task_type`` longer than a task id.
    """
    query: dict[str, object] = dict(parse_known_params(params, TASK_LOG_QUERY_PARAMS))
    task_type = query.get("task_type")
    if task_type is not None and len(task_type) > TASK_TYPE_MAX_LENGTH:
        raise Invalid(
            f"task_type must be at most {TASK_TYPE_MAX_LENGTH} characters",
            field="task_type",
        )
    status = query.get("status")
    if status is not None and status not in TASK_LOG_STATUSES:
        raise Invalid(
            f"status must be one of {', '.join(TASK_LOG_STATUSES)}", field="status"
        )
    if "limit" in query:
        query["limit"] = parse_limit(query["limit"], maximum=TASK_LOG_LIST_MAX_LIMIT)
    if "offset" in query:
        query["offset"] = parse_offset(query["offset"])
    return query


# Every value a task's ``status`` can take besides None (its last run's outcome).
TASK_STATUSES = tuple(dict.fromkeys(_RUN_OUTCOME.values()))
