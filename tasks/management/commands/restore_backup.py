"""``manage.py restore_backup PATH``: verify a backup, then restore it."""

from __future__ import annotations

import shlex
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from tasks.builtin.backup import BackupRefused, backup_restore, backup_verify

CANCELLED = "Restore cancelled; the database was not changed"


class Command(BaseCommand):
    """Restore the database from a backup whose checksum matches its manifest."""

    help = (
        "Verify a backup's SHA-256 against its manifest, ask for confirmation, "
        "keep a safety copy of the current database, then restore from the backup."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", help="the backup file (.gz) written by the backup task"
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )

    def handle(
        self, *args: object, path: str, interactive: bool, **options: object
    ) -> None:
        try:
            manifest = backup_verify(path=Path(path))
            if interactive and not self._confirmed(manifest):
                raise CommandError(CANCELLED)
            restored = backup_restore(path=Path(path))
        except BackupRefused as exc:
            raise CommandError(f"Restore refused: {exc}") from exc
        except RuntimeError as exc:
            raise CommandError(f"Restore failed: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"Restore failed: {exc.strerror or exc}") from exc
        self.stdout.write(
            f"Restored {restored['file']} ({restored['method']}, sha256 verified)"
        )
        if restored["interrupted"]:
            self.stdout.write(
                f"{restored['interrupted']} run(s) caught running in the backup marked interrupted"
            )
        safety = restored["safety_copy"]
        self.stdout.write(f"The previous database was saved as {safety}")
        self.stdout.write(
            f"To undo: python manage.py restore_backup --noinput {shlex.quote(safety)}"
        )

    def _confirmed(self, manifest: dict) -> bool:
        """Whether the operator typed yes; end of input counts as no."""
        self.stdout.write(
            f"This replaces every row of the {connection.vendor} database "
            f"{connection.settings_dict['NAME']!r} with backup {manifest['file']} "
            f"(taken {manifest.get('created_at', 'at an unknown time')}).\n"
            "A safety copy of the current database is kept first."
        )
        try:
            answer = input("Type 'yes' to continue, or 'no' to cancel: ")
        except EOFError:
            return False
        return answer.strip().lower() == "yes"
