"""The report task: the right numbers for the last 24 hours, as JSON and HTML."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from contacts.tests.factories import ContactFactory
from tasks.builtin.report import report_build
from tasks.services.execution import task_execute
from tasks.tests.factories import TaskLogFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine_dirs")]

NOW = timezone.now()


def _log(task_type: str, status: str, *, hours_ago: float = 1, **fields):
    started = NOW - timedelta(hours=hours_ago)
    return TaskLogFactory(
        task_type=task_type, status=status, started_at=started, **fields
    )


@pytest.fixture
def day_of_runs():
    _log("backup", "completed", hours_ago=20)
    _log(
        "backup",
        "completed",
        hours_ago=2,
        result='{"file": "autom8-backup-x.sqlite3.gz"}',
    )
    _log("backup", "failed", hours_ago=1)
    _log("cleanup", "completed")
    _log("cleanup", "interrupted")
    _log("cleanup", "failed", hours_ago=25)  # before the period


def test_runs_and_failures_are_counted_per_task(day_of_runs):
    report = report_build(now=NOW)

    assert report["tasks"]["backup"] == {
        "runs": 3,
        "completed": 2,
        "failed": 1,
        "interrupted": 0,
        "queued": 0,
        "running": 0,
        "success_rate": 66.67,
    }
    assert report["tasks"]["cleanup"]["runs"] == 2
    assert report["tasks"]["cleanup"]["interrupted"] == 1


def test_totals_cover_every_task_of_the_period(day_of_runs):
    totals = report_build(now=NOW)["totals"]

    assert (totals["runs"], totals["completed"], totals["failed"]) == (5, 3, 1)
    assert totals["success_rate"] == 60.0


def test_an_empty_period_has_a_zero_success_rate():
    report = report_build(now=NOW)

    assert report["tasks"] == {}
    assert report["totals"]["success_rate"] == 0.0


def test_the_contacts_are_counted():
    ContactFactory.create_batch(4)

    assert report_build(now=NOW)["contacts"] == 4


def test_the_last_successful_backup_is_named(day_of_runs):
    last = report_build(now=NOW)["last_successful_backup"]

    assert last["file"] == "autom8-backup-x.sqlite3.gz"


def test_system_metrics_are_included():
    system = report_build(now=NOW)["system"]

    assert 0 <= system["memory_percent"] <= 100
    assert 0 <= system["disk_percent"] <= 100
    assert system["cpu_count"] >= 1


def test_the_report_task_writes_json_and_html_named_in_its_result(day_of_runs):
    log = task_execute(task_id="report")

    result = json.loads(log.result)
    written = json.loads((Path(settings.REPORT_DIR) / result["json"]).read_text())
    html = (Path(settings.REPORT_DIR) / result["html"]).read_text()
    assert written["tasks"]["backup"]["failed"] == 1
    assert result["failures"] == 1
    assert "<td>backup</td><td>3</td>" in html
    assert "66.67 %" in html


def test_the_report_does_not_count_its_own_run_in_flight():
    for hours_ago in (3, 2, 1):
        _log("report", "completed", hours_ago=hours_ago)

    log = task_execute(task_id="report")

    written = json.loads(
        (Path(settings.REPORT_DIR) / json.loads(log.result)["json"]).read_text()
    )
    assert written["tasks"]["report"]["runs"] == 3
    assert written["tasks"]["report"]["success_rate"] == 100.0
