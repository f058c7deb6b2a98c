"""``manage.py replay_fallback_log``: import runs recorded while the DB was down."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tasks.services.fallback import DATABASE_DOWN_ERRORS, fallback_replay


class Command(BaseCommand):
    """Import the task fallback file into the task log (idempotent)."""

    help = "Import TASK_FALLBACK_LOG into the task log; safe to repeat."

    def handle(self, *args: object, **options: object) -> None:
        try:
            connection.ensure_connection()
        except DATABASE_DOWN_ERRORS as exc:
            raise CommandError(
                "Database unavailable; the fallback file is kept"
            ) from exc
        imported = fallback_replay()
        pending = (
            settings.TASK_FALLBACK_LOG.exists()
            and settings.TASK_FALLBACK_LOG.stat().st_size
        )
        if pending:
            raise CommandError(
                "Fallback file not fully imported; it is kept for a later replay"
            )
        self.stdout.write(f"Imported {imported} task run(s) from the fallback file")
