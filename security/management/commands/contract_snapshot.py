"""``contract_snapshot``: compare or rewrite ``contract/snapshot.json``."""

import json

from django.core.management.base import BaseCommand, CommandError

from contract.snapshot import SNAPSHOT_PATH, ShapeMismatch, compare, dumps


class Command(BaseCommand):
    """Check the recorded response shapes, or record them with ``--write``."""

    help = (
        "Compare the response shapes of the contract functions with "
        "contract/snapshot.json; --write records them (a contract change)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--write",
            action="store_true",
            help="Rewrite the snapshot from the current contract functions.",
        )

    def handle(self, *args, write: bool, **options) -> None:
        from contract.cases import current_shapes

        try:
            shapes = current_shapes()
        except ShapeMismatch as exc:
            raise CommandError(f"A response shape depends on the data: {exc}") from exc
        if write:
            SNAPSHOT_PATH.write_text(dumps(shapes), encoding="utf-8")
            self.stdout.write(f"Recorded {len(shapes)} shapes in {SNAPSHOT_PATH}")
            return
        if not SNAPSHOT_PATH.exists():
            raise CommandError(f"{SNAPSHOT_PATH} is missing: run with --write")
        problems = compare(
            json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8")), shapes
        )
        if problems:
            raise CommandError("Contract snapshot differs:\n  " + "\n  ".join(problems))
        self.stdout.write(f"{len(shapes)} shapes match {SNAPSHOT_PATH}")
