"""Suite-wide set-up shared by the app tests and the top-level tests."""

import contextlib
import fcntl
import json
import logging
import os
import tempfile
from pathlib import Path

import pytest

# A test process keeps its metrics and error log apart from var/ and from
# other test processes (xdist workers). The settings are loaded before this
# file, but prometheus-client reads the folder only when a value is first
# written, and the error log is opened on its first line.
_RUN_DIR = Path(tempfile.mkdtemp(prefix="autom8-test-"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_RUN_DIR / "metrics")
os.environ["LOG_DIR"] = str(_RUN_DIR / "logs")  # servers and commands started by tests

IGNORED = ["CVS", ".*", "*~"]  # collectstatic's default ignore patterns


@pytest.fixture(scope="session", autouse=True)
def _static_files_collected() -> None:
    """Collect static files when the manifest misses any.

    With the manifest storage, a page naming a file absent from the manifest
    is a 500 (the admin, the docs), so every test needs them collected.
    """
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from django.core.management import call_command

    from security.files import private_open

    root = Path(settings.STATIC_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    # Parallel test processes (xdist) must not collect into one folder at
    # once: the first collects, the others then find the manifest complete.
    with private_open(root.parent / ".collectstatic.lock", append=True) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = root / "staticfiles.json"
        recorded = (
            set(json.loads(manifest.read_text())["paths"])
            if manifest.exists()
            else set()
        )
        found = {
            path for finder in get_finders() for path, _storage in finder.list(IGNORED)
        }
        if not found <= recorded:
            call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _private_error_log() -> None:
    """Point the error log handlers and ``ERROR_LOG_FILE`` into the run's folder."""
    from django.conf import settings

    from security.errorlog import PrivateRotatingFileHandler

    path = _RUN_DIR / "logs" / "errors.jsonl"
    settings.ERROR_LOG_FILE = path
    for name in (None, "django", "django.request", "django.server", "apscheduler"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrivateRotatingFileHandler):
                handler.close()
                handler.baseFilename = str(path)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _private_node_caches(tmp_path_factory) -> None:
    """Node-local caches in a directory of this test process.

    Test processes run side by side (xdist) and each has its own database,
    whose user ids repeat: sharing counters would mix their counts. The
    servers a test starts inherit the directory through ``CACHE_DIR``.
    """
    from django.conf import settings
    from django.test import override_settings

    directory = tmp_path_factory.mktemp("cache")
    os.environ["CACHE_DIR"] = str(directory)
    caches = {
        alias: {**config, "LOCATION": str(directory / alias)}
        if config["BACKEND"].endswith("NodeCache")
        else config
        for alias, config in settings.CACHES.items()
    }
    override_settings(CACHE_DIR=directory, CACHES=caches).enable()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test leaves empty caches (rate-limit counters, cached pages and
    their generations included)."""
    yield
    from django.core.cache import caches

    from autom8_site.health import forget_health
    from security.revocations import forget_revocations

    forget_health()
    forget_revocations()
    for alias in ("default", "ratelimit", "pages", "shared"):
        # A test may have pointed the alias at a server that is down.
        with contextlib.suppress(Exception):
            caches[alias].clear()


@pytest.fixture
def user(db):
    """An ordinary user (role ``user``)."""
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def admin(db):
    """A staff user (role ``admin``)."""
    from tests.factories import AdminFactory

    return AdminFactory()


@pytest.fixture
def live_scheduler(db):
    """A scheduler leader that beat its heart just now (its lease row only)."""
    from tasks.tests.factories import SchedulerLeaseFactory

    return SchedulerLeaseFactory()
