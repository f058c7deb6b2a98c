"""``manage.py seed_demo --contacts N``: add N realistic demo contacts."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from contacts.services import contact_seed_demo


class Command(BaseCommand):
    """Insert N demo contacts in bulk, with a progress bar."""

    help = (
        "Add N realistic demo contacts (valid mobile numbers of several "
        "regions, encrypted and blind-indexed like any contact) in bulk. "
        "Each run adds exactly N; stored numbers are never reused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contacts",
            type=int,
            required=True,
            help="How many contacts to add.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help="Contacts per transaction (default 5000).",
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Repeat the same draws."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )

    def handle(self, *args, **options) -> None:
        count, batch_size = options["contacts"], options["batch_size"]
        if count < 0:
            raise CommandError("--contacts must be 0 or more")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        hide_bar = options["no_progress"] or options["verbosity"] == 0
        started = time.monotonic()
        with tqdm(
            total=count, unit="contact", disable=hide_bar, file=sys.stderr
        ) as bar:
            created = contact_seed_demo(
                count=count,
                batch_size=batch_size,
                seed=options["seed"],
                on_batch=bar.update,
            )
        elapsed = time.monotonic() - started
        self.stdout.write(f"Added {created} demo contacts in {elapsed:.1f} s.")
