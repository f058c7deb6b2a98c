"""``dashboard``: a live terminal view of the service, built with rich.

Health of each dependency, request rate, error rate and latency from the
metrics of every process of the node, the scheduler's leader and jobs, the
queued and running tasks, the last runs and the last errors. ``--once``
prints one frame and exits (scripts, tests); it needs no terminal.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autom8_site.health import system_health
from contract.time import iso_utc
from security.errorlog import error_log_entries
from security.metrics import request_stats
from tasks.models import TaskLog
from tasks.selectors import scheduler_state, task_list, task_log_list

ACTIVE_STATUSES = (TaskLog.Status.QUEUED, TaskLog.Status.RUNNING)
PLAIN_WIDTH = 120


def _short(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _guarded(title: str, build: Callable[[], RenderableType]) -> RenderableType:
    """A section, or a line saying why it cannot be shown (database down)."""
    try:
        return build()
    except DatabaseError:
        return Panel(Text("unavailable: the database cannot be reached"), title=title)


def _health() -> RenderableType:
    health = system_health()
    table = Table(title="Health", expand=True)
    for column in ("status", "database", "cache", "scheduler"):
        table.add_column(column)
    table.add_row(health.status, health.database, health.cache, health.scheduler)
    return table


def _requests() -> RenderableType:
    stats = request_stats()
    window = stats.window_seconds
    rate = stats.recent_count / window
    error_rate = (
        stats.recent_errors / stats.recent_count * 100 if stats.recent_count else 0.0
    )
    table = Table(title=f"Requests (all workers; rates over {window} s)", expand=True)
    for column in ("total", "req/s", "errors %", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    table.add_row(
        str(stats.total),
        f"{rate:.2f}",
        f"{error_rate:.2f}",
        *(
            "-" if value is None else f"{value:.1f}"
            for value in (stats.p50_ms, stats.p95_ms, stats.p99_ms)
        ),
    )
    return table


def _scheduler() -> RenderableType:
    state = scheduler_state()
    table = Table(
        title=f"Scheduler: {state.health}, leader {state.leader or '-'}, "
        f"heartbeat {_short(state.heartbeat_at)}",
        expand=True,
    )
    for column in ("job", "enabled", "schedule", "next run", "last status"):
        table.add_column(column)
    for overview in task_list():
        task = overview.task
        table.add_row(
            task.pk,
            "yes" if task.is_enabled else "no",
            task.schedule,
            _short(overview.next_run),
            overview.last_log.status if overview.last_log else "-",
        )
    return table


def _runs_table(title: str, logs: list[TaskLog]) -> Table:
    table = Table(title=title, expand=True)
    for column in ("id", "task", "status", "started", "completed", "error"):
        table.add_column(column)
    for log in logs:
        table.add_row(
            str(log.pk),
            log.task_type,
            log.status,
            _short(log.started_at),
            _short(log.completed_at),
            (log.error or "")[:60],
        )
    return table


def _active_runs() -> RenderableType:
    logs = [
        log
        for status in ACTIVE_STATUSES
        for log in task_log_list(status=status, limit=20).logs
    ]
    return _runs_table("Queued and running tasks", logs)


def _last_runs() -> RenderableType:
    return _runs_table("Last runs", task_log_list(limit=8).logs)


def _errors() -> RenderableType:
    table = Table(title="Last errors", expand=True)
    for column in ("time", "level", "module", "message"):
        table.add_column(column)
    for entry in error_log_entries(limit=5):
        table.add_row(
            str(entry.get("timestamp", "-")),
            str(entry.get("level", "-")),
            str(entry.get("module", "-")),
            str(entry.get("message", ""))[:80],
        )
    return table


def dashboard_frame() -> RenderableType:
    """One frame of the dashboard, built from fresh readings."""
    return Group(
        Text(f"Autom8 dashboard  {iso_utc(timezone.now())}", style="bold"),
        _guarded("Health", _health),
        _requests(),
        _guarded("Scheduler", _scheduler),
        _guarded("Queued and running tasks", _active_runs),
        _guarded("Last runs", _last_runs),
        _errors(),
    )


class Command(BaseCommand):
    """Refresh the dashboard every ``--interval`` seconds until Ctrl-C."""

    help = (
        "Live terminal dashboard: health, request and error rates, p95, "
        "scheduler jobs, queued/running tasks, last runs and errors. "
        "--once prints one frame and exits."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval", type=float, default=5.0, help="Seconds between refreshes."
        )
        parser.add_argument(
            "--once", action="store_true", help="Print one frame and exit."
        )

    def handle(self, *args, **options) -> None:
        interval = options["interval"]
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds")
        if options["once"]:
            self.stdout.write(self._plain(dashboard_frame()))
            return
        console = Console()
        try:
            with Live(dashboard_frame(), console=console, screen=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(dashboard_frame())
        except KeyboardInterrupt:
            return

    def _plain(self, frame: RenderableType) -> str:
        # Rendered into a buffer: Django's OutputWrapper adds a newline to
        # every write, and scripts want no colour codes.
        buffer = io.StringIO()
        Console(file=buffer, width=PLAIN_WIDTH, no_color=True).print(frame)
        return buffer.getvalue().rstrip("\n")
