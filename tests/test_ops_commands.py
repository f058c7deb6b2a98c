"""Operations from the terminal: health, analyze_logs and dashboard."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from security.errorlog import PrivateRotatingFileHandler
from security.logging import JsonFormatter, RedactPIIFilter, RequestIdFilter
from tasks.models import SchedulerLease
from tasks.tests.factories import TaskLogFactory
from tests.servers import BASE_DIR, process_env

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def error_log(settings, tmp_path):
    """The error log in tmp_path, written by a handler like the configured one."""
    path = tmp_path / "errors.jsonl"
    settings.ERROR_LOG_FILE = path
    handler = PrivateRotatingFileHandler(path, maxBytes=10**6, backupCount=2)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactPIIFilter())
    logger = logging.getLogger("autom8.ops")
    logger.addHandler(handler)
    yield path
    logger.removeHandler(handler)
    handler.close()


class TestHealth:
    def test_without_a_scheduler_the_service_is_degraded_with_exit_code_1(self):
        code, output = _run("health")

        assert code == 1
        assert "scheduler  not_running" in output

    def test_a_live_scheduler_makes_it_healthy_with_exit_code_0(self):
        now = timezone.now()
        SchedulerLease.objects.create(owner="node1:1", heartbeat_at=now)

        code, output = _run("health")

        assert code == 0
        assert "status     healthy" in output

    def test_json_output_names_every_check(self):
        _code, output = _run("health", "--json")

        assert set(json.loads(output)["checks"]) == {"database", "cache", "scheduler"}

    @pytest.mark.slow
    def test_an_unreachable_database_exits_2(self):
        env = process_env(
            DATABASE_URL="postgres://postgres@127.0.0.1:1/none", DB_CONNECT_TIMEOUT="1"
        )

        result = subprocess.run(
            [sys.executable, "manage.py", "health"],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            timeout=60,
        )

        assert result.returncode == 2
        assert b"unhealthy" in result.stdout


class TestAnalyzeLogs:
    def _request_line(self, route: str, duration: float, status: int) -> None:
        logging.getLogger("autom8.ops").error(
            "request failed",
            extra={"route": route, "duration_ms": duration, "status_code": status},
        )

    def test_counts_by_level_module_and_route(self, error_log):
        self._request_line("/api/v1/contacts", 12.0, 500)
        self._request_line("/api/v1/contacts", 30.0, 500)
        logging.getLogger("autom8.ops").warning("slow disk")

        summary = json.loads(_run("analyze_logs", "--hours", "1", "--json")[1])

        assert summary["by_level"] == {"ERROR": 2, "WARNING": 1}
        assert summary["by_module"] == {"autom8.ops": 3}
        assert summary["by_route"] == {"/api/v1/contacts": 2}

    def test_top_messages_come_first(self, error_log):
        for _ in range(3):
            logging.getLogger("autom8.ops").error("often")
        logging.getLogger("autom8.ops").error("once")

        summary = json.loads(_run("analyze_logs", "--json")[1])

        assert summary["top_messages"][0] == {"message": "often", "count": 3}

    def test_the_slowest_route_is_first(self, error_log):
        self._request_line("/api/v1/tasks", 5.0, 500)
        self._request_line("/api/v1/contacts", 900.0, 500)

        summary = json.loads(_run("analyze_logs", "--json")[1])

        assert [row["route"] for row in summary["slowest_routes"]] == [
            "/api/v1/contacts",
            "/api/v1/tasks",
        ]

    def test_entries_older_than_the_window_are_left_out(self, error_log):
        old = (timezone.now() - timedelta(hours=5)).isoformat()
        error_log.write_text(
            json.dumps({"timestamp": old, "level": "ERROR", "module": "m"}) + "\n"
        )
        logging.getLogger("autom8.ops").error("recent")

        summary = json.loads(_run("analyze_logs", "--hours", "2", "--json")[1])

        assert summary["total"] == 1

    def test_the_text_report_lists_the_sections(self, error_log):
        logging.getLogger("autom8.ops").error("boom")

        output = _run("analyze_logs")[1]

        for title in ("By level", "By module", "Top messages", "Slowest routes"):
            assert title in output


class TestDashboard:
    def test_one_frame_shows_health_jobs_runs_and_errors(self, error_log):
        TaskLogFactory(task_type="backup", status="failed", error="disk full")
        logging.getLogger("autom8.ops").error("dashboard sees this")

        code, output = _run("dashboard", "--once")

        assert code == 0
        for text in (
            "Health",
            "Requests",
            "backup",
            "disk full",
            "dashboard sees this",
        ):
            assert text in output

    def test_a_bad_interval_is_refused(self):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError):
            call_command("dashboard", "--interval", "0", "--once")

    @pytest.mark.slow
    @pytest.mark.django_db(transaction=True)
    def test_once_works_without_a_terminal(self):
        result = subprocess.run(
            [sys.executable, "manage.py", "dashboard", "--once"],
            cwd=BASE_DIR,
            env=process_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )

        assert result.returncode == 0
        assert b"Scheduler" in result.stdout
        assert b"\x1b[" not in result.stdout
