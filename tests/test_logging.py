"""JSON log lines of requests: one access line, the request id, no personal data."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import bearer_client
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.logcapture import json_logs

pytestmark = pytest.mark.django_db

ACCESS_FIELDS = {"method", "path", "status_code", "duration_ms", "user", "request_id"}
BASE_FIELDS = {"timestamp", "level", "module", "message", "request_id"}


def access_lines(logs) -> list[dict]:
    return logs.records("autom8.request")


class TestAccessLine:
    def test_each_request_writes_one_access_line(self, api_client):
        with json_logs() as logs:
            api_client.get("/api/v1/health")

        assert len(access_lines(logs)) == 1

    def test_the_access_line_has_the_contract_fields(self, api_client):
        with json_logs() as logs:
            api_client.get("/api/v1/health")

        line = access_lines(logs)[0]
        assert set(line) >= ACCESS_FIELDS | BASE_FIELDS
        assert (line["method"], line["path"], line["status_code"]) == (
            "GET",
            "/api/v1/health",
            200,
        )
        assert isinstance(line["duration_ms"], float)

    def test_the_access_line_carries_the_response_request_id(self, api_client):
        with json_logs() as logs:
            response = api_client.get("/api/v1/health")

        assert access_lines(logs)[0]["request_id"] == response["X-Request-ID"]

    def test_the_access_line_names_the_authenticated_user(self, user_client, user):
        with json_logs() as logs:
            user_client.get("/api/v1/auth/protected")

        assert access_lines(logs)[0]["user"] == user.username

    def test_an_anonymous_access_line_has_a_null_user(self, api_client):
        with json_logs() as logs:
            api_client.get("/nowhere")

        line = access_lines(logs)[0]
        assert (line["user"], line["status_code"]) == (None, 404)

    def test_a_line_logged_outside_a_request_has_a_null_request_id(self):
        with json_logs() as logs:
            logging.getLogger("autom8.test").info("outside")

        assert logs.records("autom8.test")[0]["request_id"] is None

    def test_the_timestamp_is_utc_with_a_z(self):
        with json_logs() as logs:
            logging.getLogger("autom8.test").info("when")

        assert logs.records("autom8.test")[0]["timestamp"].endswith("Z")


class TestNoPersonalData:
    def test_a_login_leaves_no_password_or_token_in_the_logs(self, api_client):
        user = UserFactory(username="amina@example.com")
        with json_logs() as logs:
            response = api_client.post(
                "/api/v1/auth/token",
                {"username": user.username, "password": DEFAULT_PASSWORD},
                format="json",
            )

        assert response.status_code == 200
        assert DEFAULT_PASSWORD not in logs.text
        assert response.json()["access"] not in logs.text

    def test_an_email_username_is_masked_in_the_access_line(self, api_client):
        user = UserFactory(username="amina@example.com")
        with json_logs() as logs:
            bearer_client(user).get("/api/v1/auth/protected")

        assert "amina@example.com" not in logs.text
        assert access_lines(logs)[0]["user"] == "[EMAIL]"

    def test_personal_data_in_a_message_is_masked(self):
        with json_logs() as logs:
            logging.getLogger("autom8.test").warning(
                "Contact %s reachable at %s, password=%s",
                "amina@example.com",
                "+254712345678",
                "s3cret!",
            )

        message = logs.records("autom8.test")[0]["message"]
        assert message == "Contact [EMAIL] reachable at [PHONE], password=[REDACTED]"

    def test_personal_data_in_extra_fields_is_masked(self):
        with json_logs() as logs:
            logging.getLogger("autom8.test").info(
                "created", extra={"phone": "+254712345678", "note": "call 0712 345 678"}
            )

        line = logs.records("autom8.test")[0]
        assert (line["phone"], line["note"]) == ("[REDACTED]", "call [PHONE]")

    def test_a_bearer_token_in_a_message_is_masked(self, user_client):
        token = user_client._credentials["HTTP_AUTHORIZATION"]
        with json_logs() as logs:
            logging.getLogger("autom8.test").info("header was %s", token)

        assert logs.records("autom8.test")[0]["message"] == "header was Bearer [TOKEN]"

    def test_a_request_log_line_has_its_request_id_and_no_pii(self, api_client):
        with json_logs() as logs:
            response = api_client.get(
                "/api/v1/contacts?email=amina@example.com&phone=%2B254712345678",
                HTTP_X_REQUEST_ID="trace-7",
            )

        line = access_lines(logs)[0]
        assert response["X-Request-ID"] == line["request_id"] == "trace-7"
        assert "amina" not in logs.text
        assert "254712345678" not in logs.text


class TestBadHostHeader:
    def test_a_forged_host_logs_one_warning_line_without_a_traceback(self, api_client):
        with json_logs() as logs:
            response = api_client.get("/api/v1/health", HTTP_HOST="evil.example")

        lines = logs.records("django.security.DisallowedHost")
        assert response.status_code == 400
        assert [line["level"] for line in lines] == ["WARNING"]
        assert "exc_info" not in lines[0]
        assert "Traceback" not in logs.text
