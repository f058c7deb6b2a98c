"""The counter store: exact counts across processes, no eviction while live.

Runs on the embedded default (node-local diskcache files) and, with
``REDIS_URL``, on Redis.
"""

from __future__ import annotations

import logging
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from security.cache.backends import NodeCache
from tests.factories import UserFactory
from tests.servers import gunicorn_server

PROTECTED_URL = "/api/v1/auth/protected"
REFRESH_URL = "/api/v1/auth/token/refresh"


def _seconds_left(response: httpx.Response) -> int:
    return int(response.headers["RateLimit"].rsplit("t=", 1)[1])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_allow_exactly_the_limit_and_refuse_the_next():
    limit = 30
    user = UserFactory()
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}

    with gunicorn_server(workers=2, threads=4, RATE_LIMIT_DEFAULT=str(limit)) as base:
        probe = httpx.get(f"{base}{PROTECTED_URL}", headers=headers)
        if _seconds_left(probe) < 15:  # the window would end mid-test
            time.sleep(_seconds_left(probe) + 1)
            probe = httpx.get(f"{base}{PROTECTED_URL}", headers=headers)

        def hit(_n: int) -> int:
            # A connection per request: the two workers take them in turn.
            return httpx.get(f"{base}{PROTECTED_URL}", headers=headers).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = [probe.status_code, *pool.map(hit, range(limit))]

    assert statuses.count(200) == limit
    assert statuses.count(429) == 1


@pytest.mark.django_db
def test_a_live_counter_survives_a_thousand_other_clients(api_client, settings):
    settings.RATE_LIMIT_DEFAULT = 3
    first = "10.9.255.254"
    # The first client's window must outlast the 1000 others; a slow run
    # that crosses its end (a fresh window, counted from zero) starts over
    # once, inside the new window.
    for _attempt in range(2):
        for _ in range(3):
            counted = api_client.post(REFRESH_URL, {}, format="json", REMOTE_ADDR=first)
        window_end = int(counted["X-RateLimit-Reset"])
        for n in range(1000):
            api_client.post(
                REFRESH_URL, {}, format="json", REMOTE_ADDR=f"10.8.{n // 250}.{n % 250}"
            )
        response = api_client.post(REFRESH_URL, {}, format="json", REMOTE_ADDR=first)
        if time.time() < window_end:
            break

    assert response.status_code == 429
    assert response["X-RateLimit-Remaining"] == "0"


def test_the_node_cache_directory_is_readable_by_its_owner_alone(tmp_path):
    directory = tmp_path / "cache" / "shared"

    NodeCache(str(directory), {})

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


@pytest.fixture
def unopenable_counters(settings, tmp_path):
    """The counter cache points below a file: it can never be opened."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "security.cache.backends.NodeCache",
            "LOCATION": str(blocker / "ratelimit"),
        },
    }


@pytest.mark.django_db
@pytest.mark.usefixtures("unopenable_counters")
def test_login_fails_closed_when_the_counter_files_cannot_be_opened(api_client):
    response = api_client.post(
        "/api/v1/auth/token", {"username": "a", "password": "b"}, format="json"
    )

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
@pytest.mark.usefixtures("unopenable_counters")
def test_a_login_refused_for_want_of_counters_logs_no_error_line(api_client, caplog):
    with caplog.at_level(logging.WARNING):
        api_client.post(
            "/api/v1/auth/token", {"username": "a", "password": "b"}, format="json"
        )

    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == []
