"""§1 rate limits: default and login limits, headers, 429, exemptions, outages."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import bearer_client
from tests.factories import UserFactory
from tests.servers import free_port, gunicorn_server

pytestmark = pytest.mark.django_db

PROTECTED_URL = "/api/v1/auth/protected"
REFRESH_URL = "/api/v1/auth/token/refresh"
TOKEN_URL = "/api/v1/auth/token"
RATE_LIMITED = {
    "error": "Rate limit exceeded",
    "message": "Too many requests. Please try again later.",
}


def anonymous_hit(client: APIClient, ip: str, **extra):
    """A default-limited anonymous request (the refresh route) from ``ip``."""
    return client.post(REFRESH_URL, {}, format="json", REMOTE_ADDR=ip, **extra)


def login_attempt(client: APIClient, username: str, ip: str = "127.0.0.1"):
    return client.post(
        TOKEN_URL,
        {"username": username, "password": "wrong"},
        format="json",
        REMOTE_ADDR=ip,
    )


class TestDefaultLimitHeaders:
    def test_a_limited_response_carries_the_limit(self, user_client):
        response = user_client.get(PROTECTED_URL)

        assert response["X-RateLimit-Limit"] == "5000"

    def test_remaining_counts_down(self, user_client):
        first = user_client.get(PROTECTED_URL)["X-RateLimit-Remaining"]
        second = user_client.get(PROTECTED_URL)["X-RateLimit-Remaining"]

        assert (int(first), int(second)) == (4999, 4998)

    def test_reset_is_a_unix_time_within_the_window(self, user_client):
        response = user_client.get(PROTECTED_URL)

        now = time.time()
        assert now - 1 <= int(response["X-RateLimit-Reset"]) <= now + 60

    def test_the_policy_names_quota_and_window(self, user_client):
        response = user_client.get(PROTECTED_URL)

        assert response["RateLimit-Policy"] == '"default";q=5000;w=60'

    def test_the_ratelimit_field_gives_remaining_and_seconds_to_reset(
        self, user_client
    ):
        response = user_client.get(PROTECTED_URL)

        match = re.fullmatch(r'"default";r=(\d+);t=(\d+)', response["RateLimit"])
        assert match is not None
        assert int(match[1]) == int(response["X-RateLimit-Remaining"])
        assert int(match[2]) <= 60

    def test_the_limit_follows_the_setting(self, user_client, settings):
        settings.RATE_LIMIT_DEFAULT = 7

        response = user_client.get(PROTECTED_URL)

        assert response["RateLimit-Policy"] == '"default";q=7;w=60'


class TestDefaultLimitRefusal:
    @pytest.fixture(autouse=True)
    def _limit_of_two(self, settings):
        settings.RATE_LIMIT_DEFAULT = 2

    def test_requests_within_the_limit_pass(self, user_client):
        statuses = [user_client.get(PROTECTED_URL).status_code for _ in range(2)]

        assert statuses == [200, 200]

    def test_the_request_over_the_limit_is_429_with_the_envelope(self, user_client):
        for _ in range(2):
            user_client.get(PROTECTED_URL)

        response = user_client.get(PROTECTED_URL)

        assert response.status_code == 429
        assert response.json() == RATE_LIMITED

    def test_a_429_says_when_to_retry(self, user_client):
        for _ in range(2):
            user_client.get(PROTECTED_URL)

        response = user_client.get(PROTECTED_URL)

        assert 1 <= int(response["Retry-After"]) <= 60

    def test_a_429_carries_the_rate_limit_headers(self, user_client):
        for _ in range(2):
            user_client.get(PROTECTED_URL)

        response = user_client.get(PROTECTED_URL)

        assert response["X-RateLimit-Remaining"] == "0"
        assert response["RateLimit"].startswith('"default";r=0;')

    def test_users_are_counted_apart(self, user_client):
        for _ in range(3):
            user_client.get(PROTECTED_URL)

        response = bearer_client(UserFactory()).get(PROTECTED_URL)

        assert response.status_code == 200

    def test_anonymous_callers_are_counted_by_ip(self, api_client):
        for _ in range(2):
            anonymous_hit(api_client, "10.1.1.1")

        refused = anonymous_hit(api_client, "10.1.1.1")
        other = anonymous_hit(api_client, "10.1.1.2")

        assert (refused.status_code, other.status_code) == (429, 400)

    def test_forwarded_for_is_ignored_from_an_untrusted_peer(self, api_client):
        for n in range(2):
            anonymous_hit(
                api_client, "10.1.1.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
            )

        response = anonymous_hit(
            api_client, "10.1.1.1", HTTP_X_FORWARDED_FOR="198.51.100.9"
        )

        assert response.status_code == 429

    def test_forwarded_for_names_the_client_behind_a_trusted_proxy(
        self, api_client, settings
    ):
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        for _ in range(2):
            anonymous_hit(api_client, "10.1.1.1", HTTP_X_FORWARDED_FOR="198.51.100.1")

        refused = anonymous_hit(
            api_client, "10.1.1.1", HTTP_X_FORWARDED_FOR="198.51.100.1"
        )
        other = anonymous_hit(
            api_client, "10.1.1.1", HTTP_X_FORWARDED_FOR="198.51.100.2"
        )

        assert (refused.status_code, other.status_code) == (429, 400)

    def test_disabled_rate_limiting_never_refuses(self, user_client, settings):
        settings.RATELIMIT_ENABLE = False

        statuses = {user_client.get(PROTECTED_URL).status_code for _ in range(4)}

        assert statuses == {200}


CONTACTS_URL = "/api/v1/contacts"


class TestRefusedBeforeTheThrottle:
    """Requests DRF refuses before throttling (401, 403) are counted too."""

    @pytest.fixture(autouse=True)
    def _limit_of_two(self, settings):
        settings.RATE_LIMIT_DEFAULT = 2

    def test_an_anonymous_caller_of_a_protected_route_gets_429_over_the_limit(
        self, api_client
    ):
        statuses = [api_client.get(CONTACTS_URL).status_code for _ in range(4)]

        assert statuses == [401, 401, 429, 429]

    def test_a_caller_with_a_bad_token_gets_429_over_the_limit(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

        statuses = [api_client.get(CONTACTS_URL).status_code for _ in range(4)]

        assert statuses == [401, 401, 429, 429]

    def test_the_refusal_is_the_429_envelope_with_retry_after(self, api_client):
        for _ in range(2):
            api_client.get(CONTACTS_URL)

        response = api_client.get(CONTACTS_URL)

        assert response.json() == RATE_LIMITED
        assert 1 <= int(response["Retry-After"]) <= 60

    def test_an_unauthorized_answer_carries_the_rate_limit_headers(self, api_client):
        first = api_client.get(CONTACTS_URL)
        second = api_client.get(CONTACTS_URL)

        assert first["RateLimit-Policy"] == '"default";q=2;w=60'
        assert (first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]) == (
            "1",
            "0",
        )

    def test_an_unauthorized_answer_still_names_the_bearer_scheme(self, api_client):
        response = api_client.get(CONTACTS_URL)

        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_unauthenticated_callers_are_counted_by_ip(self, api_client):
        for _ in range(2):
            api_client.get(CONTACTS_URL, REMOTE_ADDR="10.3.0.1")

        refused = api_client.get(CONTACTS_URL, REMOTE_ADDR="10.3.0.1")
        other = api_client.get(CONTACTS_URL, REMOTE_ADDR="10.3.0.2")

        assert (refused.status_code, other.status_code) == (429, 401)

    @pytest.mark.urls("tests.error_urls")
    def test_a_user_refused_by_the_role_check_gets_429_over_the_limit(
        self, user_client
    ):
        statuses = [user_client.get("/test/admin-only").status_code for _ in range(3)]

        assert statuses == [403, 403, 429]

    def test_a_request_refused_after_the_throttle_is_counted_once(self, user_client):
        statuses = [
            user_client.post(
                CONTACTS_URL, data="{not json", content_type="application/json"
            ).status_code
            for _ in range(2)
        ]

        assert statuses == [400, 400]

    def test_disabled_rate_limiting_never_refuses_them(self, api_client, settings):
        settings.RATELIMIT_ENABLE = False

        statuses = {api_client.get(CONTACTS_URL).status_code for _ in range(4)}

        assert statuses == {401}


class TestExemptRoutes:
    @pytest.fixture(autouse=True)
    def _limit_of_one(self, settings):
        settings.RATE_LIMIT_DEFAULT = 1

    @pytest.mark.parametrize("url", ["/", "/api/v1/health", "/api/v1/info"])
    def test_is_never_refused(self, api_client, url):
        statuses = {api_client.get(url).status_code for _ in range(3)}

        assert statuses == {200}

    @pytest.mark.parametrize("url", ["/", "/api/v1/health", "/api/v1/info"])
    def test_carries_no_rate_limit_headers(self, api_client, url):
        response = api_client.get(url)

        assert not response.has_header("X-RateLimit-Limit")


class TestLoginLimit:
    def test_a_token_request_carries_the_login_policy(self, api_client):
        response = login_attempt(api_client, "amina")

        assert response["RateLimit-Policy"] == '"login";q=10;w=60'
        assert response["X-RateLimit-Limit"] == "10"

    def test_the_eleventh_attempt_from_one_ip_is_refused(self, api_client):
        statuses = [
            login_attempt(api_client, f"user-{n}").status_code for n in range(11)
        ]

        assert statuses == [401] * 10 + [429]

    def test_the_eleventh_attempt_on_one_username_is_refused(self, api_client):
        statuses = [
            login_attempt(api_client, "amina", ip=f"10.2.0.{n}").status_code
            for n in range(11)
        ]

        assert statuses == [401] * 10 + [429]

    def test_the_username_is_counted_whatever_its_case(self, api_client, settings):
        settings.RATE_LIMIT_LOGIN = 1
        login_attempt(api_client, "Amina", ip="10.2.0.1")

        response = login_attempt(api_client, "amina", ip="10.2.0.2")

        assert response.status_code == 429

    def test_a_refused_login_is_the_429_envelope_under_the_login_policy(
        self, api_client, settings
    ):
        settings.RATE_LIMIT_LOGIN = 1
        login_attempt(api_client, "amina")

        response = login_attempt(api_client, "amina")

        assert response.json() == RATE_LIMITED
        assert response["RateLimit"].startswith('"login";r=0;')
        assert int(response["Retry-After"]) >= 1

    def test_valid_credentials_are_refused_too_once_over_the_limit(
        self, api_client, settings, user
    ):
        settings.RATE_LIMIT_LOGIN = 1
        login_attempt(api_client, user.username)

        response = api_client.post(
            TOKEN_URL,
            {"username": user.username, "password": "correct-horse-battery-staple"},
            format="json",
        )

        assert response.status_code == 429

    def test_login_is_not_counted_against_the_default_limit(self, api_client, settings):
        settings.RATE_LIMIT_DEFAULT = 1

        statuses = [login_attempt(api_client, "amina").status_code for _ in range(3)]

        assert statuses == [401, 401, 401]


@pytest.fixture(params=[True, False], ids=["errors-ignored", "errors-raised"])
def ratelimit_cache_down(request, settings):
    """The rate-limit cache is a Redis on a port nothing listens on."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": request.param,
            },
        },
    }


class TestCacheOutage:
    def test_the_default_limit_fails_open_by_default(
        self, ratelimit_cache_down, user_client
    ):
        response = user_client.get(PROTECTED_URL)

        assert response.status_code == 200
        assert not response.has_header("X-RateLimit-Limit")

    def test_the_default_limit_can_fail_closed(
        self, ratelimit_cache_down, user_client, settings
    ):
        settings.RATELIMIT_FAIL_OPEN = False

        response = user_client.get(PROTECTED_URL)

        assert response.status_code == 503
        assert response.json()["error"] == "Service Unavailable"
        assert int(response["Retry-After"]) > 0

    def test_an_anonymous_caller_gets_503_when_the_default_fails_closed(
        self, ratelimit_cache_down, api_client, settings
    ):
        settings.RATELIMIT_FAIL_OPEN = False

        response = api_client.get(CONTACTS_URL)

        assert response.status_code == 503
        assert response.json()["error"] == "Service Unavailable"

    def test_login_fails_closed_even_when_the_default_fails_open(
        self, ratelimit_cache_down, api_client, user, settings
    ):
        settings.RATELIMIT_FAIL_OPEN = True

        response = api_client.post(
            TOKEN_URL,
            {"username": user.username, "password": "correct-horse-battery-staple"},
            format="json",
        )

        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0


def _fresh_window(base: str, headers: dict) -> int:
    """Wait out a window about to end; the requests the probe used."""
    probe = httpx.get(f"{base}{PROTECTED_URL}", headers=headers)
    seconds_left = int(probe.headers["RateLimit"].rsplit("t=", 1)[1])
    if seconds_left >= 5:
        return 1
    time.sleep(seconds_left + 1)
    return 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_default_limit_is_shared_by_every_node_and_worker():
    limit = 4
    headers = {
        "Authorization": f"Bearer {RefreshToken.for_user(UserFactory()).access_token}"
    }

    with (
        gunicorn_server(workers=2, threads=2, RATE_LIMIT_DEFAULT=str(limit)) as node_a,
        gunicorn_server(workers=2, threads=2, RATE_LIMIT_DEFAULT=str(limit)) as node_b,
    ):
        used = _fresh_window(node_a, headers)
        # A new connection per request, so the workers of each node take turns.
        statuses = [
            httpx.get(
                f"{(node_a, node_b)[n % 2]}{PROTECTED_URL}", headers=headers
            ).status_code
            for n in range(2 * limit)
        ]

    allowed = limit - used
    assert statuses == [200] * allowed + [429] * (2 * limit - allowed)
