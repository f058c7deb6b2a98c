"""``api_docs``: check or rewrite the routes table of docs/API.md."""

from django.core.management.base import BaseCommand, CommandError

from autom8_site.api_docs import DOCS_PATH, docs_with_table, routes_table


class Command(BaseCommand):
    """Check the routes table of docs/API.md, or rewrite it with ``--write``."""

    help = (
        "Compare the routes table of docs/API.md with the routes of the "
        "OpenAPI schema; --write rewrites it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--write", action="store_true", help="Rewrite the routes table."
        )

    def handle(self, *args, write: bool, **options) -> None:
        text = DOCS_PATH.read_text(encoding="utf-8")
        try:
            updated = docs_with_table(text, routes_table())
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if write:
            DOCS_PATH.write_text(updated, encoding="utf-8")
            self.stdout.write(f"Wrote the routes table of {DOCS_PATH}")
            return
        if updated != text:
            raise CommandError(
                f"The routes table of {DOCS_PATH} is out of date: "
                "run python manage.py api_docs --write"
            )
        self.stdout.write(f"The routes table of {DOCS_PATH} matches the schema")
