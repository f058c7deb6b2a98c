"""Fixtures for the security app's unit tests."""

import pytest
from django.core.cache import caches

from tests.factories import AdminFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    yield
    try:
        caches["ratelimit"].clear()
    except Exception:  # noqa: BLE001 - the db cache table may be gone already
        pass


@pytest.fixture
def user(db):
    """An ordinary user (role ``user``)."""
    return UserFactory()


@pytest.fixture
def admin(db):
    """A staff user (role ``admin``)."""
    return AdminFactory()
