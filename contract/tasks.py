"""Public v1 shapes of tasks, task logs and the scheduler; their payload parsers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from contract.errors import Invalid
from contract.text import refuse_control_characters
from contract.time import iso_utc
from tasks.models import Task, TaskLog

TASK_KEYS = ("id", "name", "schedule", "enabled", "last_run", "next_run", "status")
TASK_LOG_STATUSES = tuple(TaskLog.Status.values)
TASK_LOG_LIMIT_DEFAULT = 50
TASK_LOG_LIMIT_MAX = 500
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


def task_log_list_body(logs: list[TaskLog]) -> dict:
    """``GET /task_logs``: the logs and how many were returned."""
    return {"count": len(logs), "logs": [task_log_to_dict(log) for log in logs]}


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
    """``task_type``, ``status`` and ``limit`` of a task log query.

    Raises Invalid naming the parameter when one is present but blank (leave
    it out for the default), ``status`` is not a log status,
    ``limit`` is not an integer from 1 to 500, or ``task_type`` is too long
    or holds control characters.
    """
    for name in ("task_type", "status", "limit"):
        if name in params and not params[name].strip():
            raise Invalid(f"{name} must not be empty", field=name)
    task_type = (params.get("task_type") or "").strip() or None
    if task_type is not None:
        refuse_control_characters(task_type, field="task_type")
    if task_type is not None and len(task_type) > TASK_TYPE_MAX_LENGTH:
        raise Invalid(
            f"task_type must be at most {TASK_TYPE_MAX_LENGTH} characters",
            field="task_type",
        )
    status = (params.get("status") or "").strip() or None
    if status is not None and status not in TASK_LOG_STATUSES:
        raise Invalid(
            f"status must be one of {', '.join(TASK_LOG_STATUSES)}", field="status"
        )
    return {
        "task_type": task_type,
        "status": status,
        "limit": _limit(params.get("limit")),
    }


def _limit(raw: str | None) -> int:
    if raw is None or raw.strip() == "":
        return TASK_LOG_LIMIT_DEFAULT
    text = raw.strip()
    if (
        not (text.isascii() and text.isdigit())
        or not 1 <= int(text) <= TASK_LOG_LIMIT_MAX
    ):
        raise Invalid(
            f"limit must be an integer from 1 to {TASK_LOG_LIMIT_MAX}", field="limit"
        )
    return int(text)
