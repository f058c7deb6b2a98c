"""The ``report`` task: the last 24 hours as JSON and as a readable HTML page."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone

from security.files import private_dir, private_open
from tasks.models import TaskLog
from tasks.registry import register

logger = logging.getLogger(__name__)

REPORT_PERIOD = timedelta(hours=24)
PREFIX = "autom8-report-"
REPORT_TASK_ID = "report"
_STATUSES = tuple(TaskLog.Status.values)


@register(REPORT_TASK_ID, name="Daily Report", schedule="0 9 * * *")
def daily_report() -> dict:
    """Write the 24-hour report into ``REPORT_DIR``; returns the file names."""
    return report_write(report=report_build())


def _rate(completed: int, runs: int) -> float:
    """completed / runs as a percentage with 2 decimals; 0 without runs."""
    return round(completed / runs * 100, 2) if runs else 0.0


def _run_counts(*, since: datetime) -> dict[str, dict]:
    """Runs per task type started since ``since``, by status.

    Report runs still in flight are left out: the run writing this report is
    one of them, and counting it made a day without failures look like less
    than 100 % success.
    """
    per_status = {status: Count("id", filter=Q(status=status)) for status in _STATUSES}
    rows = (
        TaskLog.objects.filter(started_at__gte=since)
        .exclude(task_type=REPORT_TASK_ID, status=TaskLog.Status.RUNNING)
        .values("task_type")
        .annotate(runs=Count("id"), **per_status)
        .order_by("task_type")
    )
    return {
        row["task_type"]: {
            "runs": row["runs"],
            **{status: row[status] for status in _STATUSES},
            "success_rate": _rate(row["completed"], row["runs"]),
        }
        for row in rows
    }


def _contacts_count() -> int | None:
    """How many contacts exist; None when the contacts app has no model."""
    try:
        contact = apps.get_model("contacts", "Contact")
    except LookupError:
        return None
    return contact.objects.count()


def _last_backup() -> dict | None:
    """When the last successful backup finished and what it wrote."""
    log = (
        TaskLog.objects.filter(task_type="backup", status=TaskLog.Status.COMPLETED)
        .order_by("-completed_at")
        .first()
    )
    if log is None:
        return None
    try:
        result = json.loads(log.result or "{}")
    except ValueError:
        result = {}
    return {
        "completed_at": log.completed_at.isoformat() if log.completed_at else None,
        "file": result.get("file") if isinstance(result, dict) else None,
    }


def _system() -> dict:
    """CPU, memory, disk and load of this host."""
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(
        str(settings.VAR_DIR if Path(settings.VAR_DIR).exists() else "/")
    )
    return {
        "cpu_percent": psutil.cpu_percent(interval=0.1),
        "cpu_count": psutil.cpu_count(),
        "memory_percent": memory.percent,
        "memory_available_mb": round(memory.available / 2**20, 1),
        "disk_percent": disk.percent,
        "disk_free_gb": round(disk.free / 2**30, 2),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def report_build(*, now: datetime | None = None) -> dict:
    """The report of the 24 hours before ``now`` as a JSON-able dict."""
    now = now or timezone.now()
    since = now - REPORT_PERIOD
    per_task = _run_counts(since=since)
    totals = {
        key: sum(row[key] for row in per_task.values()) for key in ("runs", *_STATUSES)
    }
    totals["success_rate"] = _rate(totals["completed"], totals["runs"])
    return {
        "generated_at": now.isoformat(),
        "period": {"start": since.isoformat(), "end": now.isoformat()},
        "tasks": per_task,
        "totals": totals,
        "contacts": _contacts_count(),
        "last_successful_backup": _last_backup(),
        "system": _system(),
    }


def report_write(*, report: dict) -> dict:
    """Write ``report`` as JSON and HTML (0600) into ``REPORT_DIR``; returns the names."""
    directory = private_dir(settings.REPORT_DIR)
    stamp = datetime.fromisoformat(report["generated_at"]).strftime("%Y%m%dT%H%M%S%fZ")
    json_path = directory / f"{PREFIX}{stamp}.json"
    html_path = directory / f"{PREFIX}{stamp}.html"
    with private_open(json_path) as handle:
        handle.write((json.dumps(report, indent=2) + "\n").encode())
    with private_open(html_path) as handle:
        handle.write(render_to_string("tasks/report.html", {"report": report}).encode())
    return {
        "json": json_path.name,
        "html": html_path.name,
        "runs": report["totals"]["runs"],
        "failures": report["totals"]["failed"],
    }
