"""PostgreSQL cut under a real gunicorn: 503s while it is away, then recovery.

The server reaches PostgreSQL through a ``TcpProxy`` the test cuts (open
connections broken, new ones refused) and restores.
"""

from __future__ import annotations

import json

import httpx
import pytest
from django.db import connection

from contacts.tests.factories import ContactFactory
from security.tokens import SessionRefreshToken
from tests import servers
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def proxied(tmp_path):
    """(proxy, base URL, log path) of a gunicorn reaching PostgreSQL via a proxy."""
    if connection.vendor != "postgresql":
        pytest.skip("cuts a PostgreSQL connection")
    cfg = connection.settings_dict
    log_path = tmp_path / "gunicorn.log"
    with TcpProxy(
        cfg.get("HOST") or "127.0.0.1", int(cfg.get("PORT") or 5432)
    ) as proxy:
        url = servers.test_database_url().replace(
            f"@{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}/",
            f"@127.0.0.1:{proxy.port}/",
        )
        assert str(proxy.port) in url
        with servers.gunicorn_server(
            workers=2, threads=2, log_path=log_path, DATABASE_URL=url
        ) as base:
            yield proxy, base, log_path


def _calls(base: str, user) -> list:
    """(name, send) for each kind of route; arranged while the database is up."""
    contact = ContactFactory()
    refresh = SessionRefreshToken.for_session(user)  # as logins issue them
    auth = {"Authorization": f"Bearer {refresh.access_token}"}
    api = f"{base}/api/v1"
    new = {"name": "Amina Otieno", "phone": "+254712345679"}

    def post(path: str, body: dict, headers: dict | None = None) -> httpx.Response:
        return httpx.post(f"{api}{path}", json=body, headers=headers, timeout=20)

    def get(path: str) -> httpx.Response:
        return httpx.get(f"{api}{path}", headers=auth, timeout=20)

    return [
        ("contacts list", lambda: get("/contacts")),
        ("contact detail", lambda: get(f"/contacts/{contact.pk}")),
        ("contact create", lambda: post("/contacts", new, auth)),
        ("tasks", lambda: get("/tasks")),
        ("protected", lambda: get("/auth/protected")),
        ("refresh", lambda: post("/auth/token/refresh", {"refresh": str(refresh)})),
    ]


def test_every_route_answers_503_while_the_database_is_cut(proxied, user):
    proxy, base, _ = proxied
    calls = _calls(base, user)
    assert httpx.get(f"{base}/api/v1/tasks", timeout=20).status_code == 401
    proxy.cut()

    answers = {name: send() for name, send in calls}

    assert {name: r.status_code for name, r in answers.items()} == {
        name: 503 for name, _ in calls
    }
    assert {r.json()["error"] for r in answers.values()} == {"Service Unavailable"}
    assert all(int(r.headers["Retry-After"]) > 0 for r in answers.values())


def test_every_route_answers_again_once_the_database_is_back(proxied, user):
    proxy, base, _ = proxied
    calls = _calls(base, user)
    proxy.cut()
    [send() for _, send in calls]

    proxy.restore()
    statuses = {name: send().status_code for name, send in calls}

    assert statuses == {
        "contacts list": 200,
        "contact detail": 200,
        "contact create": 201,
        "tasks": 200,
        "protected": 200,
        "refresh": 200,
    }


def test_each_failure_logs_one_warning_line_and_no_traceback(proxied, user):
    proxy, base, log_path = proxied
    calls = _calls(base, user)
    proxy.cut()

    for _, send in calls:
        send()

    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    unavailable = [line for line in lines if line["module"] == "autom8.errors"]
    assert len(unavailable) == len(calls)
    assert {line["level"] for line in unavailable} == {"WARNING"}
    assert "Traceback" not in text
