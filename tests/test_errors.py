"""Every error, from every layer, leaves as the §1 envelope."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from contacts.tests.factories import ContactFactory
from contract.errors import error_body
from tests.conftest import bearer_client
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


# Every route that reads a JSON body, as (method, path); "{contact}" is the
# path of an existing contact.
BODY_ROUTES = [
    ("post", "/api/v1/contacts"),
    ("patch", "/api/v1/contacts/{contact}"),
    ("put", "/api/v1/contacts/{contact}"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/token/refresh"),
    ("post", "/api/v1/auth/logout"),
]
# Deeper than Python's recursion limit: the JSON decoder cannot descend it.
DEEP_JSON = "[" * 1100 + "]" * 1100


def send_body(user, method: str, path: str, body: str, content_type: str):
    """``body`` sent by ``user`` (a server-like client) to ``path``."""
    client = bearer_client(user)
    client.raise_request_exception = False
    url = path.format(contact=ContactFactory().pk)
    return getattr(client, method)(url, data=body, content_type=content_type)


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

    @pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
    def test_json_nested_too_deeply_to_parse_is_400(self, user, method, path):
        response = send_body(user, method, path, DEEP_JSON, "application/json")

        body = assert_envelope(response, 400, "Bad Request")
        assert body["message"] == "Malformed request body: it must be valid JSON"

    def test_json_nested_too_deeply_to_parse_logs_no_error(self, user):
        with json_logs() as logs:
            send_body(user, "post", "/api/v1/contacts", DEEP_JSON, "application/json")

        assert [line for line in logs.records() if line["level"] == "ERROR"] == []

    @pytest.mark.urls("tests.error_urls")
    def test_invalid_from_a_service_is_400_with_details(self, client):
        response = client.get("/test/invalid")

        body = assert_envelope(response, 400, "Bad Request")
        assert body["details"] == {"phone": ["phone must be in E.164"]}


def oversize_json() -> str:
    """A JSON object one byte over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    padding = settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len('{"name":""}') + 1
    return '{"name":"' + "a" * padding + '"}'


class TestRequestEntityTooLarge:
    @pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
    def test_a_json_body_over_the_upload_limit_is_413(self, user, method, path):
        response = send_body(user, method, path, oversize_json(), "application/json")

        body = assert_envelope(response, 413, "Request Entity Too Large")
        assert body["message"] == "Request body too large"

    def test_a_body_at_the_upload_limit_is_read(self, user):
        body = oversize_json().replace("a", "", 1)

        response = send_body(user, "post", "/api/v1/contacts", body, "application/json")

        assert response.status_code == 400
        assert "name" in response.json()["details"]

    def test_a_body_over_the_upload_limit_logs_no_error(self, user):
        with json_logs() as logs:
            send_body(
                user, "post", "/api/v1/contacts", oversize_json(), "application/json"
            )

        assert [line for line in logs.records() if line["level"] == "ERROR"] == []

    def test_a_form_over_the_upload_limit_on_a_django_view_is_413(self, client):
        form = "username=admin&password=" + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

        response = client.post(
            "/admin/login/", data=form, content_type="application/x-www-form-urlencoded"
        )

        assert_envelope(response, 413, "Request Entity Too Large")

    def test_a_form_over_the_upload_limit_read_by_the_csrf_check_is_413(self):
        client = Client(enforce_csrf_checks=True, raise_request_exception=False)
        client.cookies["csrftoken"] = "a" * 32
        form = "password=" + "a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

        response = client.post(
            "/admin/login/", data=form, content_type="application/x-www-form-urlencoded"
        )

        assert_envelope(response, 413, "Request Entity Too Large")


class TestNotAcceptable:
    def test_an_unservable_accept_header_is_406_with_its_phrase(self, client):
        response = client.get("/api/v1/health", HTTP_ACCEPT="text/plain")

        body = assert_envelope(response, 406, "Not Acceptable")
        assert "application/json" in body["message"]


def drf_rendered(status: int, message: str, details=None) -> bytes:
    """The bytes DRF's renderer gives the envelope."""
    return JSONRenderer().render(error_body(status, message, details))


@pytest.mark.urls("tests.error_urls")
class TestOneJsonStyle:
    def test_djangos_404_is_rendered_like_drf(self, client):
        response = client.get("/no/such/page")

        assert response.content == drf_rendered(404, "Resource not found")

    def test_a_rewritten_405_is_rendered_like_drf(self, client):
        response = client.get("/test/post-only")

        assert response.content == drf_rendered(405, "Method not allowed")

    def test_a_plain_view_crash_is_rendered_like_drf(self, client):
        response = client.get("/test/django-crash")

        assert response.content == drf_rendered(500, "Internal Server Error")

    def test_the_nul_byte_400_is_rendered_like_drf(self, client):
        response = client.get("/api/v1/health?name=a%00b")

        assert response.content == drf_rendered(
            400,
            "name: must not contain NUL bytes",
            {"name": ["must not contain NUL bytes"]},
        )

    def test_a_plain_view_refused_by_djangoratelimit_is_rendered_like_drf(self, client):
        response = client.get("/test/django-ratelimited")

        assert response.content == drf_rendered(
            429, "Too many requests. Please try again later."
        )


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
