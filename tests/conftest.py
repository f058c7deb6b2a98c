"""Fixtures of the API tests: anonymous and authenticated clients, a demo task."""

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tasks import registry


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous DRF test client."""
    return APIClient()


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


def _demo() -> dict:
    """A task that returns at once."""
    return {"ok": True}


@pytest.fixture
def demo() -> Iterator[str]:
    """A registered task ``demo`` (hourly), removed after the test."""
    registry.register("demo", name="Demo Task", schedule="0 * * * *")(_demo)
    yield "demo"
    registry.unregister("demo")


@pytest.fixture(autouse=True)
def _responses_match_the_openapi_schema(monkeypatch):
    """Every response of a documented route must match /api/v1/schema."""
    from django.test.client import Client

    from tests.schema_validation import validating_request

    monkeypatch.setattr(Client, "request", validating_request)
