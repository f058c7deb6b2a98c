"""Every error, from every layer, leaves as the §1 envelope."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.error_urls import SECRET_DETAIL
from tests.logcapture import json_logs

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"error", "message"}
BARE_500 = {"error": "Internal Server Error", "message": "Internal Server Error"}


@pytest.fixture
def client() -> APIClient:
    """A client that answers like a server: exceptions become responses."""
    return APIClient(raise_request_exception=False)


def assert_envelope(response, status: int, phrase: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) - {"details"} == ERROR_KEYS
    assert body["error"] == phrase
    return body


class TestNotFound:
    def test_an_unknown_url_is_a_json_404(self, client):
        response = client.get("/no/such/page")

        assert response["Content-Type"] == "application/json"
        assert_envelope(response, 404, "Not Found")

    def test_an_unknown_api_route_is_a_json_404(self, client):
        response = client.get("/api/v1/nothing-here")

        assert_envelope(response, 404, "Not Found")

    def test_a_missing_trailing_slash_is_not_redirected(self, client):
        response = client.get("/api/v1/docs")

        assert_envelope(response, 404, "Not Found")


class TestMethodNotAllowed:
    def test_a_wrong_method_on_an_api_route_is_405(self, client):
        response = client.get("/api/v1/auth/token")

        assert_envelope(response, 405, "Method Not Allowed")

    def test_the_405_lists_the_allowed_methods(self, client):
        response = client.get("/api/v1/auth/token")

        assert "POST" in response["Allow"]

    @pytest.mark.urls("tests.error_urls")
    def test_djangos_own_405_is_rewritten_as_the_envelope(self, client):
        response = client.get("/test/post-only")

        assert_envelope(response, 405, "Method Not Allowed")
        assert response["Allow"] == "POST, OPTIONS"


class TestBadRequests:
    def test_malformed_json_is_400(self, client):
        response = client.post(
            "/api/v1/auth/token/refresh",
            data="{not json",
            content_type="application/json",
        )

        body = assert_envelope(response, 400, "Bad Request")
        assert "JSON" in body["message"]

    def test_a_text_plain_body_is_415(self, client):
        response = client.post(
            "/api/v1/auth/token/refresh", data="refresh=x", content_type="text/plain"
        )

        assert_envelope(response, 415, "Unsupported Media Type")

    def test_a_field_error_names_the_field_in_message_and_details(self, client):
        response = client.post(
            "/api/v1/auth/token/refresh", {"refresh": 7}, format="json"
        )

        body = assert_envelope(response, 400, "Bad Request")
        assert "refresh" in body["message"]
        assert list(body["details"]) == ["refresh"]

    @pytest.mark.urls("tests.error_urls")
    def test_invalid_from_a_service_is_400_with_details(self, client):
        response = client.get("/test/invalid")

        body = assert_envelope(response, 400, "Bad Request")
        assert body["details"] == {"phone": ["phone must be in E.164"]}


@pytest.mark.urls("tests.error_urls")
class TestAutom8Errors:
    def test_conflict_is_409_with_its_message(self, client):
        response = client.get("/test/conflict")

        body = assert_envelope(response, 409, "Conflict")
        assert body["message"] == "Already there"


@pytest.mark.urls("tests.error_urls")
class TestRatelimitedException:
    def test_djangoratelimit_in_a_drf_view_is_429_not_403(self, client):
        response = client.get("/test/api-ratelimited")

        body = assert_envelope(response, 429, "Rate limit exceeded")
        assert body["message"] == "Too many requests. Please try again later."

    def test_djangoratelimit_in_a_drf_view_says_when_to_retry(self, client):
        response = client.get("/test/api-ratelimited")

        assert int(response["Retry-After"]) > 0

    def test_djangoratelimit_in_a_plain_view_is_429(self, client):
        response = client.get("/test/django-ratelimited")

        assert_envelope(response, 429, "Rate limit exceeded")


@pytest.mark.urls("tests.error_urls")
class TestServerError:
    @pytest.mark.parametrize("url", ["/test/api-crash", "/test/django-crash"])
    def test_a_crash_is_a_bare_500(self, client, url):
        response = client.get(url)

        assert response.status_code == 500
        assert response.json() == BARE_500

    @pytest.mark.parametrize("url", ["/test/api-crash", "/test/django-crash"])
    def test_a_500_leaks_nothing_of_the_exception(self, client, url):
        response = client.get(url)

        for fragment in (
            "SELECT",
            "secret_table",
            "/srv/",
            "hunter2",
            "RuntimeError",
            "Traceback",
        ):
            assert fragment not in response.content.decode()

    @pytest.mark.parametrize("url", ["/test/api-crash", "/test/django-crash"])
    def test_a_500_stays_bare_with_debug_on(self, client, settings, url):
        settings.DEBUG = True

        response = client.get(url)

        assert response.json() == BARE_500

    @pytest.mark.parametrize("url", ["/test/api-crash", "/test/django-crash"])
    def test_a_crash_is_answered_even_when_exceptions_propagate(
        self, client, settings, url
    ):
        settings.DEBUG_PROPAGATE_EXCEPTIONS = True

        response = client.get(url)

        assert response.json() == BARE_500

    @pytest.mark.parametrize("url", ["/test/api-crash", "/test/django-crash"])
    def test_a_500_is_logged_with_the_request_id(self, client, url):
        with json_logs() as logs:
            response = client.get(url, HTTP_X_REQUEST_ID="crash-42")

        errors = [line for line in logs.records() if line["level"] == "ERROR"]
        assert [line["request_id"] for line in errors] == ["crash-42"]
        assert "RuntimeError" in errors[0]["exc_info"]
        assert response["X-Request-ID"] == "crash-42"

    def test_the_500_log_line_is_redacted(self, client):
        with json_logs() as logs:
            client.get("/test/django-crash")

        assert "hunter2" not in logs.text
        assert SECRET_DETAIL.split(" password")[0] in logs.text
