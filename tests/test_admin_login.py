"""The admin login shares the API's login limit (per IP and per username)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import DEFAULT_PASSWORD, AdminFactory
from tests.servers import free_port

pytestmark = pytest.mark.django_db

ADMIN_LOGIN_URL = "/admin/login/"
TOKEN_URL = "/api/v1/auth/token"
REFUSED_MESSAGE = "Too many sign-in attempts for this address or username."


def admin_login(client: Client, username: str, password: str = "wrong", **extra):  # noqa: S107
    return client.post(
        ADMIN_LOGIN_URL,
        {"username": username, "password": password, "next": "/admin/"},
        **extra,
    )


@pytest.fixture
def ratelimit_cache_down(settings):
    """The rate-limit cache is a Redis on a port nothing listens on."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        },
    }


class TestAdminLoginLimit:
    def test_attempts_within_the_limit_are_answered_by_the_form(self, client):
        statuses = {admin_login(client, f"user-{n}").status_code for n in range(10)}

        assert statuses == {200}

    def test_the_eleventh_attempt_from_one_ip_is_refused_with_429(self, client):
        for n in range(10):
            admin_login(client, f"user-{n}")

        response = admin_login(client, "user-10")

        assert response.status_code == 429
        assert int(response["Retry-After"]) >= 1

    def test_the_refusal_says_so_in_the_form(self, client, settings):
        settings.RATE_LIMIT_LOGIN = 1
        admin_login(client, "ops")

        response = admin_login(client, "ops")

        assert REFUSED_MESSAGE in response.content.decode()

    def test_the_eleventh_attempt_on_one_username_is_refused(self, client):
        statuses = [
            admin_login(client, "ops", REMOTE_ADDR=f"10.3.0.{n}").status_code
            for n in range(11)
        ]

        assert statuses == [200] * 10 + [429]

    def test_valid_credentials_are_refused_once_over_the_limit(self, client, settings):
        settings.RATE_LIMIT_LOGIN = 1
        staff = AdminFactory()
        admin_login(client, staff.username)

        response = admin_login(client, staff.username, DEFAULT_PASSWORD)

        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_valid_credentials_within_the_limit_sign_in(self, client):
        staff = AdminFactory()

        response = admin_login(client, staff.username, DEFAULT_PASSWORD)

        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(staff.pk)

    def test_api_token_attempts_count_against_the_admin_login(self, client, settings):
        settings.RATE_LIMIT_LOGIN = 2
        for _ in range(2):
            client.post(
                TOKEN_URL,
                {"username": "ops", "password": "wrong"},
                content_type="application/json",
                REMOTE_ADDR=f"10.4.0.{_}",
            )

        response = admin_login(client, "OPS", REMOTE_ADDR="10.4.0.9")

        assert response.status_code == 429

    def test_a_get_of_the_login_page_is_not_counted(self, client, settings):
        settings.RATE_LIMIT_LOGIN = 1

        for _ in range(3):
            client.get(ADMIN_LOGIN_URL)
        response = admin_login(client, "ops")

        assert response.status_code == 200


def test_with_the_counters_unreachable_the_admin_login_fails_closed(
    ratelimit_cache_down, client
):
    staff = AdminFactory()

    response = admin_login(client, staff.username, DEFAULT_PASSWORD)

    assert response.status_code == 503
    assert "Sign-in is temporarily unavailable" in response.content.decode()
    assert "_auth_user_id" not in client.session
