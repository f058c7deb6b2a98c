"""In-process cost of the request path: requests/second and a profile.

Drives ``GET /api/v1/auth/protected``, ``GET /api/v1/health``, the contact
list (``limit=100``) and a contact (100 contacts are created first) through
Django's test client in one thread, on a throw-away SQLite database under a
temporary ``AUTOM8_VAR_DIR`` (or the database in ``DATABASE_URL``). Every
protection stays on (JWT, rate limits, signing, JSON access log); the access
log goes to /dev/null so the terminal is not the bottleneck.

    .venv/bin/python bench/request_path.py                 # req/s only
    .venv/bin/python bench/request_path.py --profile       # + pyinstrument
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

ROUTES = (
    "/api/v1/auth/protected",
    "/api/v1/health",
    "/api/v1/contacts?limit=100",
    "/api/v1/contacts/{id}",
)
CONTACTS = 100


def _setup() -> dict[str, str]:
    os.environ.setdefault("AUTOM8_VAR_DIR", tempfile.mkdtemp(prefix="autom8-path-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autom8_site.settings")
    os.environ.setdefault("RATE_LIMIT_DEFAULT", "100000000")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import RefreshToken

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="path-bench")
    token = RefreshToken.for_user(user).access_token
    _seed_contacts()
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _seed_contacts() -> None:
    from contacts.models import Contact
    from contacts.services import contact_create

    for number in range(Contact.objects.count(), CONTACTS):
        contact_create(
            name=f"Bench Contact {number:03d}",
            phone=f"+1202555{number:04d}",
            email=f"bench{number}@example.com",
        )


def _path(route: str) -> str:
    from contacts.models import Contact

    return route.replace("{id}", str(Contact.objects.order_by("id").first().id))


def _quiet_access_log() -> None:
    import logging

    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    handlers = {
        handler
        for logger in loggers
        for handler in getattr(logger, "handlers", [])  # placeholders have none
    }
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)
        target = getattr(handler, "target", None)
        if isinstance(target, logging.StreamHandler):
            target.setStream(sink)


def _loop(
    client, path: str, headers: dict[str, str], count: int
) -> tuple[float, float]:
    """Requests per second of wall time and of this process's CPU time."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        response = client.get(path, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.content!r}")
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


def main() -> None:
    """Measure each route; print req/s (and the profile when asked)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    auth = _setup()
    _quiet_access_log()
    from django.test import Client

    client = Client()
    for route in ROUTES:
        path = _path(route)
        headers = {} if path.endswith("health") else auth
        _loop(client, path, headers, 50)  # warm up: connections, imports
        rates = [
            _loop(client, path, headers, args.requests) for _ in range(args.rounds)
        ]
        wall = sorted(rate for rate, _ in rates)[len(rates) // 2]
        cpu = sorted(rate for _, rate in rates)[len(rates) // 2]
        # On a shared machine wall time includes waiting for a core; the
        # CPU-time rate is the steadier figure.
        print(f"{path}: {wall:.0f} req/s wall, {cpu:.0f} req/s of CPU (medians)")
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            _loop(client, path, headers, args.requests)
            profiler.stop()
            print(
                profiler.output_text(
                    color=False,
                    show_all=os.environ.get("PROFILE_ALL") == "1",
                    short_mode=False,
                )
            )


if __name__ == "__main__":
    main()
