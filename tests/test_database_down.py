"""An unreachable database is a 503 with ``Retry-After`` on every route (§1).

In process: the default connection is pointed at a database that cannot be
opened (a SQLite file in a missing directory, a closed PostgreSQL port), so
every query fails as in an outage. ``tests/test_database_cut.py`` cuts a
real PostgreSQL under a real gunicorn.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from contacts.tests.factories import ContactFactory
from security.exceptions import server_error
from tests.logcapture import json_logs
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

ENVELOPE = {
    "error": "Service Unavailable",
    "message": "The database is temporarily unavailable. Please try again later.",
}


class Outage:
    """Points the default connection at an unreachable database until ``end``."""

    def __init__(self, tmp_path: Path) -> None:
        self._saved = dict(connection.settings_dict)
        self._tmp_path = tmp_path

    def start(self) -> None:
        connection.close()
        if connection.vendor == "sqlite":
            connection.settings_dict["NAME"] = str(self._tmp_path / "gone" / "db")
        else:
            connection.settings_dict["HOST"] = "127.0.0.1"
            connection.settings_dict["PORT"] = str(free_port())

    def end(self) -> None:
        connection.close()
        connection.settings_dict.update(self._saved)


@pytest.fixture
def outage(tmp_path):
    """An ``Outage``; the database is always back after the test."""
    cut = Outage(tmp_path)
    yield cut
    cut.end()


def _server_like(client: APIClient) -> APIClient:
    client.raise_request_exception = False
    return client


@pytest.fixture
def client(user) -> APIClient:
    """A server-like client holding an access token of ``user``."""
    client = _server_like(APIClient())
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _requests(client: APIClient, user) -> dict:
    """One request per kind of route, all arranged before the outage."""
    contact = ContactFactory()
    refresh = str(RefreshToken.for_user(user))
    anonymous = _server_like(APIClient())
    new = {"name": "Amina Otieno", "phone": "+254712345679"}
    return {
        "contacts list": lambda: client.get("/api/v1/contacts"),
        "contact detail": lambda: client.get(f"/api/v1/contacts/{contact.pk}"),
        "contact create": lambda: client.post("/api/v1/contacts", new, format="json"),
        "contact update": lambda: client.patch(
            f"/api/v1/contacts/{contact.pk}", {"name": "New Name"}, format="json"
        ),
        "tasks": lambda: client.get("/api/v1/tasks"),
        "task logs": lambda: client.get("/api/v1/task_logs"),
        "protected (JWT user lookup)": lambda: client.get("/api/v1/auth/protected"),
        "refresh": lambda: anonymous.post(
            "/api/v1/auth/token/refresh", {"refresh": refresh}, format="json"
        ),
        "admin login (a Django view)": lambda: anonymous.post(
            "/admin/login/", {"username": user.username, "password": "x"}
        ),
    }


ROUTES = [
    "contacts list",
    "contact detail",
    "contact create",
    "contact update",
    "tasks",
    "task logs",
    "protected (JWT user lookup)",
    "refresh",
    "admin login (a Django view)",
]


@pytest.mark.parametrize("route", ROUTES)
def test_a_route_answers_503_with_the_envelope(client, user, outage, route):
    send = _requests(client, user)[route]
    outage.start()

    response = send()

    assert response.status_code == 503, response.content
    assert response.json() == ENVELOPE


@pytest.mark.parametrize("route", ["contacts list", "refresh"])
def test_the_503_says_when_to_retry(client, user, outage, route):
    send = _requests(client, user)[route]
    outage.start()

    response = send()

    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("route", ["contacts list", "admin login (a Django view)"])
def test_the_503_carries_the_security_headers(client, user, outage, route):
    send = _requests(client, user)[route]
    outage.start()

    response = send()

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Autom8-Integrity"].startswith("t=")


def _problems(logs) -> list[dict]:
    """The WARNING and ERROR lines but the access line (a 5xx's is a warning)."""
    return [
        line
        for line in logs.records()
        if line["level"] in ("WARNING", "ERROR") and line["module"] != "autom8.request"
    ]


# The refresh and admin login routes are anonymous: their rate-limit check
# runs before the database fails and must add no line of its own.
@pytest.mark.parametrize(
    "route", ["contacts list", "refresh", "admin login (a Django view)"]
)
def test_each_failure_is_one_warning_line_without_traceback(
    client, user, outage, route
):
    send = _requests(client, user)[route]
    outage.start()

    with json_logs() as logs:
        send()

    problems = _problems(logs)
    assert [(line["module"], line["level"]) for line in problems] == [
        ("autom8.errors", "WARNING")
    ]
    assert "exc_info" not in problems[0]
    assert "Traceback" not in logs.text


def test_the_service_recovers_when_the_database_is_back(client, user, outage):
    send = _requests(client, user)["contacts list"]
    outage.start()
    assert send().status_code == 503

    outage.end()

    assert send().status_code == 200


def test_a_sqlite_database_locked_by_another_writer_is_a_503(client, user):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's file lock")
    send = _requests(client, user)["contact create"]
    options = connection.settings_dict["OPTIONS"]
    saved_timeout, options["timeout"] = options["timeout"], 0.2
    connection.close()
    holder = sqlite3.connect(connection.settings_dict["NAME"])
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = send()
    finally:
        holder.rollback()
        holder.close()
        options["timeout"] = saved_timeout
        connection.close()

    assert response.status_code == 503, response.content
    assert response["Retry-After"]


def test_health_keeps_its_own_503_body(client, outage):
    outage.start()

    response = client.get("/api/v1/health")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


def test_health_logs_its_warning_line_and_no_error_line(client, outage):
    outage.start()

    with json_logs() as logs:
        client.get("/api/v1/health")

    assert [(line["module"], line["level"]) for line in _problems(logs)] == [
        ("autom8.health", "WARNING")
    ]


def test_djangos_500_handler_answers_503_for_an_unreachable_database():
    request = RequestFactory().get("/admin/")
    try:
        raise OperationalError("connection to server failed: Connection refused")
    except OperationalError:
        response = server_error(request)

    assert response.status_code == 503
    assert response["Retry-After"]


@pytest.mark.urls("tests.error_urls")
@pytest.mark.parametrize("url", ["/test/api-bad-sql", "/test/django-bad-sql"])
def test_bad_sql_stays_a_500(url):
    client = _server_like(APIClient())

    response = client.get(url)

    assert response.status_code == 500
    assert response.json()["error"] == "Internal Server Error"
