"""§1 headers on every response: timing, request id, integrity, security headers."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from security.integrity import parse_header, verify_integrity
from tests.conftest import bearer_client
from tests.servers import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.error_urls")]

STATIC_TEXT = b"body { color: black; }\n"
BIG_STATIC_SIZE = 3 * 1024 * 1024 + 17


@pytest.fixture
def static_dir(settings, tmp_path):
    """STATIC_ROOT with a small and a large file; new clients serve them."""
    (tmp_path / "site.css").write_bytes(STATIC_TEXT)
    (tmp_path / "big.bin").write_bytes(
        bytes(range(256)) * (BIG_STATIC_SIZE // 256) + b"x" * 17
    )
    settings.STATIC_ROOT = str(tmp_path)
    return tmp_path


def body_of(response) -> bytes:
    """The bytes a client would receive, streamed or not."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def make_response(kind: str, user, request, settings):
    """One response of each kind the contract names."""
    client = APIClient(raise_request_exception=False)
    if kind == "200":
        return client.get("/api/v1/health")
    if kind == "404":
        return client.get("/nowhere")
    if kind == "405":
        return client.delete("/api/v1/auth/token")
    if kind == "500":
        return client.get("/test/api-crash")
    if kind == "400":
        return client.post(
            "/api/v1/auth/token/refresh",
            data="{not json",
            content_type="application/json",
        )
    if kind == "415":
        return client.post(
            "/api/v1/auth/token/refresh", data="refresh=x", content_type="text/plain"
        )
    if kind == "503":
        # Token issuing fails closed while its counters cannot be reached.
        settings.CACHES = {
            **settings.CACHES,
            "ratelimit": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
            },
        }
        return client.post(
            "/api/v1/auth/token", {"username": "a", "password": "b"}, format="json"
        )
    if kind == "429":
        settings.RATE_LIMIT_DEFAULT = 1
        authed = bearer_client(user)
        authed.get("/api/v1/auth/protected")
        return authed.get("/api/v1/auth/protected")
    if kind == "static":
        request.getfixturevalue("static_dir")
        return client.get("/static/site.css")
    if kind == "admin":
        # Plain storage: the page renders whether or not collectstatic ran.
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
            },
        }
        return client.get("/admin/login/")
    raise ValueError(kind)


KINDS = ["200", "400", "404", "405", "415", "500", "429", "503", "static", "admin"]


@pytest.fixture(params=KINDS)
def any_response(request, user, settings):
    response = make_response(request.param, user, request, settings)
    assert response.status_code == (
        int(request.param) if request.param.isdigit() else 200
    )
    return response


class TestEveryResponse:
    def test_carries_the_response_time_in_milliseconds(self, any_response):
        assert re.fullmatch(r"\d+\.\d{2}ms", any_response["X-Response-Time"])

    def test_carries_a_request_id(self, any_response):
        assert uuid.UUID(any_response["X-Request-ID"]).version == 4

    def test_carries_a_signature_of_its_body(self, any_response):
        body = body_of(any_response)

        assert verify_integrity(
            any_response, body, settings.RESPONSE_SIGNING_KEY, max_age=60
        )

    def test_carries_nosniff(self, any_response):
        assert any_response["X-Content-Type-Options"] == "nosniff"

    def test_forbids_framing(self, any_response):
        assert any_response["X-Frame-Options"] == "DENY"

    def test_carries_the_referrer_policy(self, any_response):
        assert any_response["Referrer-Policy"] == "same-origin"

    def test_carries_the_content_security_policy(self, any_response):
        assert any_response["Content-Security-Policy"] == "default-src 'self'"

    def test_carries_the_permissions_policy(self, any_response):
        assert any_response["Permissions-Policy"] == (
            "geolocation=(), camera=(), microphone=(), payment=()"
        )

    def test_has_no_hsts_over_plain_http(self, any_response):
        assert not any_response.has_header("Strict-Transport-Security")


class TestIntegrity:
    def test_the_signature_is_dated_now(self, api_client):
        response = api_client.get("/nowhere")

        t, _ = parse_header(response["X-Autom8-Integrity"])
        assert abs(t - time.time()) < 5

    def test_an_altered_body_fails_verification(self, api_client):
        response = api_client.get("/nowhere")

        altered = response.content.replace(b"Not Found", b"Not F0und")
        assert not verify_integrity(response, altered, settings.RESPONSE_SIGNING_KEY)

    def test_another_key_fails_verification(self, api_client):
        response = api_client.get("/nowhere")

        assert not verify_integrity(response, response.content, "another-key")

    def test_a_large_static_file_is_signed_whole(self, static_dir):
        response = APIClient().get("/static/big.bin")

        body = body_of(response)
        assert len(body) == BIG_STATIC_SIZE
        assert verify_integrity(response, body, settings.RESPONSE_SIGNING_KEY)

    def test_a_byte_range_of_a_static_file_is_signed_as_sent(self, static_dir):
        response = APIClient().get("/static/big.bin", HTTP_RANGE="bytes=100-199")

        body = body_of(response)
        assert response.status_code == 206
        assert len(body) == 100
        assert verify_integrity(response, body, settings.RESPONSE_SIGNING_KEY)

    def test_a_streamed_body_is_signed_and_still_sent(self, api_client):
        response = api_client.get("/test/streamed")

        body = body_of(response)
        assert body == b"alpha beta gamma"
        assert verify_integrity(response, body, settings.RESPONSE_SIGNING_KEY)


class TestRequestId:
    def test_a_well_formed_incoming_id_is_echoed(self, api_client):
        response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID="req-2026.01_abc")

        assert response["X-Request-ID"] == "req-2026.01_abc"

    @pytest.mark.parametrize(
        "incoming", ["", "a" * 129, "has space", "semi;colon", "new\nline", "bad/slash"]
    )
    def test_a_malformed_incoming_id_is_replaced(self, api_client, incoming):
        response = api_client.get("/api/v1/health", HTTP_X_REQUEST_ID=incoming)

        assert response["X-Request-ID"] != incoming
        assert uuid.UUID(response["X-Request-ID"]).version == 4

    def test_each_request_gets_its_own_id(self, api_client):
        first = api_client.get("/api/v1/health")["X-Request-ID"]
        second = api_client.get("/api/v1/health")["X-Request-ID"]

        assert first != second


class TestStrictTransportSecurity:
    def test_present_over_https(self, api_client):
        response = api_client.get("/api/v1/health", secure=True)

        assert response["Strict-Transport-Security"].startswith("max-age=")

    def test_uses_the_configured_max_age(self, api_client, settings):
        settings.SECURE_HSTS_SECONDS = 3600

        response = api_client.get("/api/v1/health", secure=True)

        assert response["Strict-Transport-Security"].startswith("max-age=3600")

    def test_absent_over_http_even_when_configured(self, api_client, settings):
        settings.SECURE_HSTS_SECONDS = 3600

        response = api_client.get("/api/v1/health")

        assert not response.has_header("Strict-Transport-Security")


class TestNulBytes:
    def test_a_nul_in_the_query_string_is_400(self, api_client):
        response = api_client.get("/api/v1/health?x=a%00b")

        assert response.status_code == 400
        assert response.json()["error"] == "Bad Request"

    def test_the_400_names_the_parameter_holding_the_nul(self, api_client):
        response = api_client.get("/api/v1/health?ok=1&name=a%00b")

        body = response.json()
        assert body["message"].startswith("name:")
        assert list(body["details"]) == ["name"]

    def test_a_nul_in_a_parameter_name_is_400(self, api_client):
        response = api_client.get("/api/v1/health?na%00me=1")

        assert response.json()["details"] == {"query": ["must not contain NUL bytes"]}

    def test_a_nul_in_the_path_is_400(self, api_client):
        response = api_client.get("/api/v1/contacts%00")

        assert response.status_code == 400
        assert "NUL" in response.json()["message"]

    def test_a_nul_answer_carries_the_headers(self, api_client):
        response = api_client.get("/api/v1/health?x=%00")

        assert verify_integrity(
            response, response.content, settings.RESPONSE_SIGNING_KEY
        )
        assert response["X-Content-Type-Options"] == "nosniff"

    def test_an_escaped_percent_sign_is_not_a_nul(self, api_client):
        response = api_client.get("/api/v1/health?x=%2500")

        assert response.status_code == 200
