"""``manage.py restore_backup PATH``: verify a backup, then restore it."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tasks.builtin.backup import BackupRefused, backup_restore


class Command(BaseCommand):
    """Restore the database from a backup whose checksum matches its manifest."""

    help = "Verify a backup's SHA-256 against its manifest, then restore the database from it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", help="the backup file (.gz) written by the backup task"
        )

    def handle(self, *args: object, path: str, **options: object) -> None:
        try:
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
