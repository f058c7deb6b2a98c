"""``manage.py listtasks``: the registered tasks as a table."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from contract.tasks import task_to_dict
from tasks.selectors import task_list

COLUMNS = ("ID", "NAME", "SCHEDULE", "ENABLED", "LAST RUN", "NEXT RUN", "STATUS")


def _moment(value: datetime | None) -> str:
    """A moment in ``TIME_ZONE`` to the minute, or a dash."""
    if value is None:
        return "-"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


class Command(BaseCommand):
    """Print every task with its schedule, switch, last and next run."""

    help = "List tasks: schedule, enabled, last run, next run (TIME_ZONE), last status."

    def handle(self, *args: object, **options: object) -> None:
        rows = []
        for overview in task_list():
            body = task_to_dict(
                overview.task, last_log=overview.last_log, next_run=overview.next_run
            )
            rows.append(
                (
                    body["id"],
                    body["name"],
                    body["schedule"],
                    "yes" if body["enabled"] else "no",
                    _moment(
                        overview.last_log.started_at if overview.last_log else None
                    ),
                    _moment(overview.next_run if body["enabled"] else None),
                    body["status"] or "-",
                )
            )
        widths = [
            max(len(str(row[i])) for row in [COLUMNS, *rows])
            for i in range(len(COLUMNS))
        ]
        for row in [COLUMNS, *rows]:
            self.stdout.write(
                "  ".join(
                    str(cell).ljust(width)
                    for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
