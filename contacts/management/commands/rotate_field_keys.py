"""``manage.py rotate_field_keys``: re-encrypt contacts under the first key."""

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from contacts.models import Contact
from contacts.services import contact_rotate_field_keys
from security.crypto import UnreadableCiphertext


class Command(BaseCommand):
    """Re-encrypt every contact's phone and email with the first key of
    FIELD_ENCRYPTION_KEYS, in batches; safe to rerun after an interruption."""

    help = (
        "Re-encrypt every contact's phone and email with the first key of "
        "FIELD_ENCRYPTION_KEYS. Rows already under that key are skipped, so "
        "an interrupted run continues where it stopped. Afterwards the old "
        "keys can be removed from FIELD_ENCRYPTION_KEYS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Contacts per transaction (default 500).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )

    def handle(self, *args, **options) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        hide_bar = options["no_progress"] or options["verbosity"] == 0
        with tqdm(
            total=Contact.objects.count(),
            unit="contact",
            disable=hide_bar,
            file=sys.stderr,
        ) as bar:
            try:
                result = contact_rotate_field_keys(
                    batch_size=batch_size, on_batch=bar.update
                )
            except UnreadableCiphertext as exc:
                raise CommandError(
                    "No key of FIELD_ENCRYPTION_KEYS decrypts a stored contact; "
                    "add the key it was written with, then run again"
                ) from exc
        self.stdout.write(
            f"Re-encrypted {result.reencrypted} of {result.scanned} contacts "
            "under the first key of FIELD_ENCRYPTION_KEYS."
        )
