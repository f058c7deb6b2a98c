"""Discovery and status routes: ``/``, health, info, schema, docs (§2)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
import yaml
from django.db import connection
from django.urls import include, path, resolve
from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from contract.discovery import ENDPOINTS
from security.deprecation import deprecated
from tasks.models import SchedulerLease
from tests.servers import free_port, gunicorn_server

BAD_TOKEN = {"HTTP_AUTHORIZATION": "Bearer not-a-token"}


class ThrottledView(APIView):
    """A test-only route under the default rate limit."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        return Response({})


@deprecated(
    sunset=date(2030, 1, 31), successor="/api/v1/new", deprecated_on=date(2029, 1, 1)
)
class LegacyView(APIView):
    """A test-only deprecated route."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    def post(self, request):
        return Response({})


urlpatterns = [
    path("", include("autom8_site.root_urls")),
    path("api/v1/", include("autom8_site.discovery_urls")),
    path("api/v1/throttled", ThrottledView.as_view()),
    path("api/v1/legacy", LegacyView.as_view()),
]
TEST_URLS = pytest.mark.urls("tests.test_discovery_api")


def _lease(*, age: timedelta) -> SchedulerLease:
    moment = timezone.now() - age
    return SchedulerLease.objects.create(
        name="scheduler", owner="node-1:4242", acquired_at=moment, heartbeat_at=moment
    )


def _unreachable_redis(*, ignore_exceptions: bool) -> dict:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": ignore_exceptions,
            },
        },
    }


class TestRoot:
    def test_names_the_service_version_and_documentation(self, api_client):
        response = api_client.get("/")

        assert response.status_code == 200
        body = response.json()
        assert (body["service"], body["version"]) == ("Autom8 API", "1.0.0")
        assert body["documentation"] == "/api/v1/docs/"

    def test_maps_the_main_routes(self, api_client):
        endpoints = api_client.get("/").json()["endpoints"]

        assert endpoints["contacts"] == "/api/v1/contacts"
        assert endpoints["health"] == "/api/v1/health"

    @pytest.mark.parametrize("name", sorted(ENDPOINTS))
    def test_every_listed_route_exists(self, name):
        match = resolve(ENDPOINTS[name])

        assert match.func is not None

    def test_a_bad_token_is_ignored(self, api_client):
        response = api_client.get("/", **BAD_TOKEN)

        assert response.status_code == 200


@pytest.mark.django_db
class TestHealth:
    def test_healthy_when_every_check_passes(self, api_client):
        _lease(age=timedelta(seconds=1))

        response = api_client.get("/api/v1/health")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "healthy"
        assert body["checks"] == {"database": "ok", "cache": "ok", "scheduler": "ok"}

    def test_names_service_version_and_environment(self, api_client, settings):
        settings.AUTOM8_ENV = "production"

        body = api_client.get("/api/v1/health").json()

        assert body["service"] == "Autom8 API"
        assert body["version"] == "1.0.0"
        assert body["environment"] == "production"

    def test_degraded_when_no_scheduler_ever_ran(self, api_client):
        response = api_client.get("/api/v1/health")

        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["scheduler"] == "not_running"

    def test_degraded_when_the_scheduler_heartbeat_is_stale(self, api_client, settings):
        _lease(age=timedelta(seconds=settings.SCHEDULER_LEASE_SECONDS + 5))

        body = api_client.get("/api/v1/health").json()

        assert body["status"] == "degraded"
        assert body["checks"]["scheduler"] == "stale"

    def test_degraded_when_redis_is_unreachable(self, api_client, settings):
        _lease(age=timedelta(seconds=1))
        settings.CACHES = _unreachable_redis(ignore_exceptions=True)

        response = api_client.get("/api/v1/health")

        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["cache"] == "down"

    def test_degraded_when_the_rate_limit_counters_are_unreachable(
        self, api_client, settings
    ):
        _lease(age=timedelta(seconds=1))
        counters = _unreachable_redis(ignore_exceptions=True)["default"]
        settings.CACHES = {**settings.CACHES, "ratelimit": counters}

        body = api_client.get("/api/v1/health").json()

        assert body["status"] == "degraded"
        assert body["checks"]["cache"] == "down"

    def test_a_cache_backend_that_raises_is_down_not_a_500(self, api_client, settings):
        settings.CACHES = _unreachable_redis(ignore_exceptions=False)

        response = api_client.get("/api/v1/health")

        assert response.status_code == 200
        assert response.json()["checks"]["cache"] == "down"

    def test_a_cache_outage_is_logged_as_a_warning(self, api_client, settings, caplog):
        settings.CACHES = _unreachable_redis(ignore_exceptions=False)
        caplog.set_level("WARNING", logger="autom8.health")

        api_client.get("/api/v1/health")

        [record] = [r for r in caplog.records if r.name == "autom8.health"]
        assert record.levelname == "WARNING"
        assert "cache 'default' is unreachable" in record.getMessage()

    def test_a_bad_token_is_ignored(self, api_client):
        response = api_client.get("/api/v1/health", **BAD_TOKEN)

        assert response.status_code == 200

    def test_post_is_refused_with_the_error_envelope(self, api_client):
        response = api_client.post("/api/v1/health", {}, format="json")

        assert response.status_code == 405
        assert response.json()["error"] == "Method Not Allowed"


@TEST_URLS
@pytest.mark.django_db
def test_status_routes_are_exempt_from_the_rate_limit(api_client, settings):
    settings.RATE_LIMIT_DEFAULT = 2

    throttled = [api_client.get("/api/v1/throttled").status_code for _ in range(4)]
    status = [
        api_client.get(route).status_code
        for route in ("/", "/api/v1/info", "/api/v1/health") * 4
    ]

    assert 429 in throttled
    assert 429 not in status


@pytest.fixture(scope="module")
def server_without_database():
    """A real gunicorn whose database cannot be reached at all."""
    if connection.vendor == "postgresql":
        url = f"postgres://postgres@127.0.0.1:{free_port()}/autom8_unreachable"
    else:
        url = "sqlite:////nonexistent-autom8-dir/unreachable.sqlite3"
    with gunicorn_server(workers=1, threads=2, DATABASE_URL=url) as base:
        yield base


@pytest.mark.slow
class TestWithoutDatabase:
    def test_health_answers_503_unhealthy(self, server_without_database):
        response = httpx.get(f"{server_without_database}/api/v1/health", timeout=15)

        assert response.status_code == 503
        assert response.json()["status"] == "unhealthy"

    def test_health_reports_the_database_down(self, server_without_database):
        body = httpx.get(f"{server_without_database}/api/v1/health", timeout=15).json()

        assert body["checks"]["database"] == "down"
        assert body["checks"]["scheduler"] == "not_running"

    def test_info_still_answers(self, server_without_database):
        response = httpx.get(f"{server_without_database}/api/v1/info", timeout=15)

        assert response.status_code == 200
        assert response.json()["name"] == "Autom8"

    def test_root_still_answers(self, server_without_database):
        response = httpx.get(f"{server_without_database}/", timeout=15)

        assert response.status_code == 200
        assert response.json()["service"] == "Autom8 API"


class TestInfo:
    def test_names_product_versions_and_documentation(self, api_client):
        body = api_client.get("/api/v1/info").json()

        assert (body["name"], body["version"], body["api_version"]) == (
            "Autom8",
            "1.0.0",
            "v1",
        )
        assert body["documentation"] == "/api/v1/docs/"
        assert (body["licensed"], body["integrity"]) == (True, "verified")

    def test_environment_comes_from_the_settings(self, api_client, settings):
        settings.AUTOM8_ENV = "production"

        assert api_client.get("/api/v1/info").json()["environment"] == "production"

    @pytest.mark.parametrize("enabled", [True, False])
    def test_rate_limiting_follows_the_setting(self, api_client, settings, enabled):
        settings.RATELIMIT_ENABLE = enabled

        security = api_client.get("/api/v1/info").json()["security"]

        assert security["rate_limiting"] is enabled

    def test_cors_is_enabled_when_an_origin_is_allowed(self, api_client, settings):
        settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

        assert api_client.get("/api/v1/info").json()["security"]["cors_enabled"] is True

    def test_cors_is_disabled_when_no_origin_is_allowed(self, api_client, settings):
        settings.CORS_ALLOWED_ORIGINS = []

        assert (
            api_client.get("/api/v1/info").json()["security"]["cors_enabled"] is False
        )

    @pytest.mark.parametrize("https", [True, False])
    def test_https_only_follows_secure_https(self, api_client, settings, https):
        settings.SECURE_HTTPS = https

        assert api_client.get("/api/v1/info").json()["security"]["https_only"] is https

    @TEST_URLS
    def test_notices_list_every_deprecated_route(self, api_client):
        notices = api_client.get("/api/v1/info").json()["notices"]

        assert notices == [
            "POST /api/v1/legacy is deprecated; use /api/v1/new. Sunset: 2030-01-31."
        ]

    def test_a_bad_token_is_ignored(self, api_client):
        response = api_client.get("/api/v1/info", **BAD_TOKEN)

        assert response.status_code == 200


class TestSchema:
    def test_is_an_openapi_3_document_in_json(self, api_client):
        response = api_client.get("/api/v1/schema")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
        assert response.json()["openapi"].startswith("3.")

    def test_is_yaml_when_asked_for(self, api_client):
        response = api_client.get("/api/v1/schema", HTTP_ACCEPT="application/yaml")

        assert response.status_code == 200
        assert yaml.safe_load(response.content)["info"]["title"] == "Autom8 API"

    def test_documents_the_discovery_operations(self, api_client):
        paths = api_client.get("/api/v1/schema").json()["paths"]

        assert paths["/api/v1/health"]["get"]["operationId"] == "health"
        assert paths["/api/v1/info"]["get"]["operationId"] == "info"
        assert paths["/"]["get"]["operationId"] == "root"

    def test_a_bad_token_is_ignored(self, api_client):
        response = api_client.get("/api/v1/schema", **BAD_TOKEN)

        assert response.status_code == 200


class TestDocs:
    def test_serves_swagger_ui_from_the_servers_own_static_files(self, api_client):
        html = api_client.get("/api/v1/docs/").content.decode()

        sources = re.findall(r'<script src="([^"]+)"', html)
        assert any(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/" in s for s in sources
        )
        assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]

    def test_page_has_no_inline_script(self, api_client):
        html = api_client.get("/api/v1/docs/").content.decode()

        assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == []

    def test_init_script_is_javascript_that_loads_the_schema(self, api_client):
        response = api_client.get("/api/v1/docs/?script=")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/javascript")
        assert '"/api/v1/schema"' in response.content.decode()
