"""Redis dies under a running server, then comes back.

A private ``redis-server`` on a free port is the cache and rate-limit store
of a real gunicorn. It is killed (SIGKILL) and later started again on the
same port. Meanwhile authenticated reads keep being served, logins fail
closed (503 with ``Retry-After``: passwords cannot be guessed while nothing
counts), and health says ``degraded`` with the cache ``down``; after the
restart both recover without restarting gunicorn.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from autom8_site.health import HEALTH_TTL_SECONDS
from tests.servers import free_port, gunicorn_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ENVELOPE_KEYS = {"error", "message"}


class RedisServer:
    """A throwaway ``redis-server`` without persistence, on a fixed port."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        _wait_for(lambda: _pings(client), timeout=10, what="redis to answer")

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def _wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> float:
    """Poll ``condition`` until truthy; the seconds it took."""
    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if condition():
            return time.monotonic() - begin
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


def _health_once_rechecked(api: httpx.Client) -> httpx.Response:
    """Health after every worker's cached result (``HEALTH_TTL_SECONDS``) aged."""
    time.sleep(HEALTH_TTL_SECONDS + 0.5)
    return api.get("/api/v1/health")


@pytest.fixture(scope="module")
def outage(module_callers, tmp_path_factory) -> dict:
    """What the server answered before, during and after a Redis outage."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    caller = module_callers["user"]
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    seen: dict = {}
    try:
        with gunicorn_server(
            workers=2,
            threads=2,
            REDIS_URL=f"redis://127.0.0.1:{server.port}/0",
            CACHE_KEY_PREFIX=f"reliability-{server.port}",
        ) as base:
            api = httpx.Client(base_url=base, timeout=10)
            credentials = {"username": caller.username, "password": caller.password}

            def login() -> httpx.Response:
                return api.post("/api/v1/auth/token", json=credentials)

            seen["login_before"] = login()
            server.kill()
            seen["read_during"] = api.get("/api/v1/contacts", headers=caller.headers)
            seen["login_during"] = login()
            seen["health_during"] = _health_once_rechecked(api)
            server.start()
            seen["recovery_seconds"] = _wait_for(
                lambda: login().status_code == 200, timeout=30, what="login"
            )
            seen["health_after"] = _health_once_rechecked(api)
            api.close()
    finally:
        server.kill()
    return seen


def test_logins_work_while_redis_is_up(outage):
    assert outage["login_before"].status_code == 200


def test_authenticated_reads_are_served_without_redis(outage):
    assert outage["read_during"].status_code == 200


def test_login_fails_closed_with_503_and_retry_after(outage):
    response = outage["login_during"]

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert set(response.json()) >= ENVELOPE_KEYS


def test_health_is_degraded_with_the_cache_down(outage):
    body = outage["health_during"].json()

    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == "down"
    assert body["checks"]["database"] == "ok"


def test_login_recovers_after_redis_restarts(outage):
    assert outage["recovery_seconds"] < 30


def test_health_reports_the_cache_ok_again(outage):
    assert outage["health_after"].json()["checks"]["cache"] == "ok"
