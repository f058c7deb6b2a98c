"""Suite-wide set-up shared by the app tests and the top-level tests."""

import contextlib
import json
from pathlib import Path

import pytest

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

    manifest = Path(settings.STATIC_ROOT, "staticfiles.json")
    recorded = (
        set(json.loads(manifest.read_text())["paths"]) if manifest.exists() else set()
    )
    found = {
        path for finder in get_finders() for path, _storage in finder.list(IGNORED)
    }
    if not found <= recorded:
        call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _node_cache_per_test_process():
    """Parallel test processes (xdist) each get their own node-local cache
    directory, as they get their own database: generations and counts of
    one never move under the other's tests."""
    import os

    from django.conf import settings
    from django.test.utils import override_settings

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = settings.CACHES["shared"]
    if not worker or "redis" in shared["BACKEND"]:
        yield
        return
    caches = {**settings.CACHES, "shared": {**shared}}
    caches["shared"]["LOCATION"] = f"{shared['LOCATION']}-{worker}"
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test leaves empty caches (rate-limit counters, cached pages and
    their generations included)."""
    yield
    from django.core.cache import caches

    for alias in ("default", "ratelimit", "pages", "shared"):
        # The database cache table may be gone already.
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
