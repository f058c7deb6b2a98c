"""``health``: the health check from the shell, for cron and monitoring."""

import json
import sys

from django.core.management.base import BaseCommand

from autom8_site.health import DEGRADED, HEALTHY, system_health

EXIT_CODES = {HEALTHY: 0, DEGRADED: 1}
UNHEALTHY_EXIT = 2


class Command(BaseCommand):
    """Print each dependency's check; exit 0 healthy, 1 degraded, 2 unhealthy."""

    help = (
        "Check the database, the caches and the scheduler like GET /api/v1/health. "
        "Exit code: 0 healthy, 1 degraded, 2 unhealthy."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object instead."
        )

    def handle(self, *args, **options) -> None:
        health = system_health()
        checks = {
            "database": health.database,
            "cache": health.cache,
            "scheduler": health.scheduler,
        }
        if options["json"]:
            self.stdout.write(json.dumps({"status": health.status, "checks": checks}))
        else:
            for name, state in checks.items():
                self.stdout.write(f"{name:<10} {state}")
            self.stdout.write(f"{'status':<10} {health.status}")
        code = EXIT_CODES.get(health.status, UNHEALTHY_EXIT)
        if code:
            sys.exit(code)
