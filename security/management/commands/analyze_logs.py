"""``analyze_logs``: what the error log says about the last hours."""

import json
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from security.errorlog import error_log_summary


class Command(BaseCommand):
    """Counts by level, module and route, top messages, slowest routes."""

    help = (
        "Summarise the JSON error log (LOG_DIR/errors.jsonl and its rotated "
        "files) over the last --hours: counts by level, module and route, the "
        "top messages and the slowest routes. --json prints one JSON object."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--hours", type=float, default=24.0, help="How far back (default 24)."
        )
        parser.add_argument("--top", type=int, default=10, help="Rows per list.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, **options) -> None:
        since = timezone.now() - timedelta(hours=max(options["hours"], 0))
        summary = error_log_summary(since=since, top=max(options["top"], 1))
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self._print(summary, hours=options["hours"])

    def _print(self, summary: dict, *, hours: float) -> None:
        write = self.stdout.write
        write(f"Error log, last {hours:g} h (since {summary['since']}):")
        write(f"  {summary['total']} entries")
        for title, key in (
            ("By level", "by_level"),
            ("By module", "by_module"),
            ("By route", "by_route"),
        ):
            write(f"{title}:")
            for name, count in summary[key].items():
                write(f"  {count:>6}  {name}")
        write("Top messages:")
        for row in summary["top_messages"]:
            write(f"  {row['count']:>6}  {row['message'][:120]}")
        write("Slowest routes (max / avg ms, count):")
        for row in summary["slowest_routes"]:
            write(
                f"  {row['max_ms']:>9.2f} / {row['avg_ms']:>9.2f}  "
                f"{row['count']:>5}  {row['route']}"
            )
