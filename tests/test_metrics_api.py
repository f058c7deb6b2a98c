"""§6 end to end: /metrics, /api/v1/metrics, /api/v1/metrics/system, logs/errors."""

from __future__ import annotations

import json
import logging
import stat

import pytest

from contacts.tests.factories import ContactFactory
from security.errorlog import PrivateRotatingFileHandler
from security.logging import JsonFormatter, RedactPIIFilter, RequestIdFilter
from tasks.tests.factories import TaskLogFactory
from tests.logcapture import json_logs

ENVELOPE_KEYS = {"error", "message"}
SYSTEM_KEYS = {"timestamp", "cpu", "memory", "disk"}


class TestMetricsGet:
    def test_json_by_default(self, api_client):
        response = api_client.get("/metrics")

        assert response.status_code == 200
        assert set(response.json()) == {
            "cpu_percent",
            "memory_percent",
            "disk_percent",
            "timestamp",
        }

    def test_text_plain_gives_the_prometheus_format(self, api_client):
        response = api_client.get("/metrics", HTTP_ACCEPT="text/plain")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b"# TYPE autom8_http_requests_total counter" in response.content

    def test_openmetrics_is_served_when_asked_for(self, api_client):
        response = api_client.get(
            "/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
        )

        assert response["Content-Type"].startswith("application/openmetrics-text")
        assert response.content.endswith(b"# EOF\n")

    def test_the_format_parameter_selects_nothing(self, api_client):
        response = api_client.get("/metrics?format=prometheus")

        assert response["Content-Type"] == "application/json"

    @pytest.mark.django_db
    def test_routes_are_labelled_by_pattern_never_by_path(self, user_client):
        user_client.get("/api/v1/contacts/254799887766")

        text = user_client.get("/metrics", HTTP_ACCEPT="text/plain").content.decode()

        assert 'route="/api/v1/contacts/<str:contact_id>"' in text
        assert "254799887766" not in text

    def test_metrics_are_exempt_from_the_rate_limit(self, api_client, settings):
        settings.RATE_LIMIT_DEFAULT = 2

        statuses = {api_client.get("/metrics").status_code for _ in range(5)}

        assert statuses == {200}


@pytest.mark.django_db
class TestApiMetricsGet:
    def test_anyone_may_read_the_metrics(self, api_client):
        response = api_client.get("/api/v1/metrics")

        assert response.status_code == 200
        assert set(response.json()) == {
            "requests",
            "cache",
            "tasks",
            "database",
            "system",
            "integrity_verified",
        }

    def test_requests_are_counted_by_route(self, api_client):
        before = api_client.get("/api/v1/metrics").json()["requests"]["by_endpoint"]
        for _ in range(4):
            api_client.get("/api/v1/info")

        after = api_client.get("/api/v1/metrics").json()["requests"]["by_endpoint"]

        old = before.get("GET /api/v1/info", {"count": 0})["count"]
        assert after["GET /api/v1/info"]["count"] == old + 4

    def test_recent_percentiles_are_numbers_once_requests_were_served(self, api_client):
        api_client.get("/api/v1/info")

        latency = api_client.get("/api/v1/metrics").json()["requests"]["latency_ms"]

        assert all(isinstance(latency[key], float) for key in ("p50", "p95", "p99"))

    def test_database_counts_match_the_api_totals(self, user_client):
        ContactFactory.create_batch(3)
        TaskLogFactory.create_batch(2)

        database = user_client.get("/api/v1/metrics").json()["database"]

        assert (
            database["contacts"]
            == user_client.get("/api/v1/contacts").json()["meta"]["total"]
        )
        assert (
            database["task_logs"]
            == user_client.get("/api/v1/task_logs/stats").json()["total_executions"]
        )

    def test_tasks_are_the_task_log_stats(self, user_client):
        TaskLogFactory(status="completed")

        body = user_client.get("/api/v1/metrics").json()

        assert body["tasks"] == user_client.get("/api/v1/task_logs/stats").json()

    def test_cache_counts_are_the_page_cache_lookups(self, user_client):
        before = user_client.get("/api/v1/metrics").json()["cache"]
        user_client.get("/api/v1/contacts")
        user_client.get("/api/v1/contacts")

        cache = user_client.get("/api/v1/metrics").json()["cache"]

        assert cache["hits"] - before["hits"] == 1
        assert cache["misses"] - before["misses"] == 1


@pytest.mark.django_db
class TestSystemMetricsGet:
    def test_the_host_resources_have_the_contract_shape(self, api_client):
        body = api_client.get("/api/v1/metrics/system").json()

        assert set(body) == SYSTEM_KEYS
        assert set(body["cpu"]) == {"percent", "count"}
        assert set(body["memory"]) == {"total_mb", "available_mb", "used_mb", "percent"}
        assert set(body["disk"]) == {"total_gb", "used_gb", "free_gb", "percent"}


@pytest.fixture
def error_log(settings, tmp_path):
    """An error log in tmp_path, written by a handler like the configured one."""
    path = tmp_path / "logs" / "errors.jsonl"
    settings.ERROR_LOG_FILE = path
    handler = PrivateRotatingFileHandler(path, maxBytes=10**6, backupCount=2)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactPIIFilter())
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("autom8.test")
    logger.addHandler(handler)
    yield path
    logger.removeHandler(handler)
    handler.close()


@pytest.mark.django_db
class TestErrorLogGet:
    URL = "/api/v1/logs/errors"

    def test_anonymous_is_unauthorized(self, api_client):
        response = api_client.get(self.URL)

        assert response.status_code == 401
        assert set(response.json()) >= ENVELOPE_KEYS

    def test_a_user_is_forbidden(self, user_client):
        response = user_client.get(self.URL)

        assert response.status_code == 403
        assert set(response.json()) >= ENVELOPE_KEYS

    def test_entries_are_newest_first_with_the_contract_keys(
        self, admin_client, error_log
    ):
        logger = logging.getLogger("autom8.test")
        logger.error("first failure")
        logger.warning("second failure")

        body = admin_client.get(self.URL).json()

        assert body["count"] == 2
        assert [e["message"] for e in body["errors"]] == [
            "second failure",
            "first failure",
        ]
        assert set(body["errors"][0]) == {
            "timestamp",
            "level",
            "module",
            "message",
            "request_id",
        }

    def test_limit_keeps_the_newest(self, admin_client, error_log):
        for n in range(5):
            logging.getLogger("autom8.test").error("failure %s", n)

        body = admin_client.get(f"{self.URL}?limit=2").json()

        assert [e["message"] for e in body["errors"]] == ["failure 4", "failure 3"]

    def test_without_a_log_file_the_list_is_empty(
        self, admin_client, settings, tmp_path
    ):
        settings.ERROR_LOG_FILE = tmp_path / "missing.jsonl"

        assert admin_client.get(self.URL).json() == {"count": 0, "errors": []}

    @pytest.mark.parametrize("limit", ["0", "501", "abc", "", " ", "-1", "1.5"])
    def test_a_bad_limit_is_a_400_naming_limit(self, admin_client, limit):
        response = admin_client.get(self.URL, {"limit": limit})

        assert response.status_code == 400
        assert "limit" in response.json()["details"]

    def test_the_log_file_is_readable_by_its_owner_only(self, error_log):
        logging.getLogger("autom8.test").error("boom")

        assert stat.S_IMODE(error_log.stat().st_mode) == 0o600

    def test_personal_data_never_reaches_the_error_log(self, error_log):
        logging.getLogger("autom8.test").error(
            "no contact +254712345678 amina@example.com password=hunter2"
        )

        text = error_log.read_text()

        for secret in ("254712345678", "amina@example.com", "hunter2"):
            assert secret not in text
        assert json.loads(text)["level"] == "ERROR"

    def test_a_server_error_reaches_the_configured_error_log(self, admin_client):
        from django.conf import settings

        from security.errorlog import error_log_entries

        logging.getLogger("autom8.errors").error("configured handler check")

        newest = next(error_log_entries(limit=1))

        assert settings.ERROR_LOG_FILE.name == "errors.jsonl"
        assert newest["message"] == "configured handler check"


class TestAccessLineLevels:
    def test_a_slow_request_is_a_warning_with_its_route(self, api_client, settings):
        settings.SLOW_REQUEST_MS = 0
        with json_logs() as logs:
            api_client.get("/api/v1/info")

        [line] = logs.records("autom8.request")
        assert (line["level"], line["route"]) == ("WARNING", "/api/v1/info")

    def test_a_fast_request_stays_info(self, api_client, settings):
        settings.SLOW_REQUEST_MS = 10**6
        with json_logs() as logs:
            api_client.get("/api/v1/info")

        [line] = logs.records("autom8.request")
        assert line["level"] == "INFO"
