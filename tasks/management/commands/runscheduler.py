"""``python manage.py runscheduler``: run the task scheduler until signalled."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from tasks.builtin.backup import backup_debris_remove
from tasks.scheduler.runner import SchedulerRunner


class Command(BaseCommand):
    """Run the scheduler; one leader among every scheduler process runs the jobs."""

    help = (
        "Run the task scheduler. Start it on several nodes: one leads, the "
        "others take over when it dies. SIGTERM or SIGINT stop it cleanly."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--import",
            dest="imports",
            action="append",
            default=[],
            metavar="MODULE",
            help="import MODULE first, e.g. one that registers extra tasks",
        )

    def handle(self, *args, imports: list[str], **options) -> None:
        for module in imports:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise CommandError(f"--import {module}: {exc}") from exc
        # A backup killed with the previous scheduler left its files behind.
        if removed := backup_debris_remove():
            self.stdout.write(f"Removed {removed} leftover(s) of killed backups")
        runner = SchedulerRunner()

        def stop(signum: int, _frame: object) -> None:
            runner.request_stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        outcome = runner.run()
        self.stdout.write("Scheduler stopped")
        if outcome.cut_off:
            # A run outlived the shutdown grace: leave without joining its
            # thread; the next start marks its log interrupted.
            logging.shutdown()
            sys.stdout.flush()
            os._exit(0)
