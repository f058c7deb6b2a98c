"""Fixtures shared by the whole suite: users, authenticated API clients."""

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import AdminFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_caches(request):
    """Each test starts with empty caches (counters included)."""
    yield
    for alias in ("default", "ratelimit"):
        try:
            caches[alias].clear()
        except Exception:  # noqa: BLE001 - the db cache table may be gone already
            pass


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous DRF test client."""
    return APIClient()


@pytest.fixture
def user(db):
    """An ordinary user (role ``user``)."""
    return UserFactory()


@pytest.fixture
def admin(db):
    """A staff user (role ``admin``)."""
    return AdminFactory()


def bearer_client(user) -> APIClient:
    """A client sending a fresh access token of ``user``."""
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def user_client(user) -> APIClient:
    """A client authenticated as an ordinary user."""
    return bearer_client(user)


@pytest.fixture
def admin_client(admin) -> APIClient:
    """A client authenticated as an admin."""
    return bearer_client(admin)
