"""``manage.py runtask ID``: run one task now, synchronously."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contract.errors import Conflict, NotFound
from tasks.models import TaskLog
from tasks.registry import all_definitions
from tasks.services.execution import task_execute


class Command(BaseCommand):
    """Run a registered task through the execution service and print its result."""

    help = "Run a task now (synchronously); prints its result, exit code 1 on failure."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("task_id", help="id of a registered task, e.g. backup")

    def handle(self, *args: object, task_id: str, **options: object) -> None:
        try:
            log = task_execute(task_id=task_id, trigger=TaskLog.Trigger.MANUAL)
        except NotFound as exc:
            known = ", ".join(sorted(d.id for d in all_definitions()))
            raise CommandError(f"{exc.message}; valid ids: {known}") from exc
        except Conflict as exc:
            raise CommandError(exc.message) from exc
        if log.status != TaskLog.Status.COMPLETED:
            raise CommandError(f"Task '{task_id}' {log.status}: {log.error}")
        result = json.loads(log.result) if log.result else None
        self.stdout.write(json.dumps(result, indent=2))
