"""Every finished run is counted in the metrics by task and status.

Metrics outlive a test, so each test runs a task id of its own.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from security.metrics import metrics_exposition
from tasks.services.execution import task_execute

pytestmark = pytest.mark.django_db


def _runs(task: str, status: str) -> float:
    text = metrics_exposition(openmetrics=False).decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "autom8_task_runs_total"
        and sample.labels == {"task": task, "status": status}
    )


def test_a_completed_run_is_counted(engine_dirs, make_task):
    task_id = make_task(lambda: {"ok": True}, task_id="metrics_ok")

    task_execute(task_id=task_id)

    assert _runs(task_id, "completed") == 1


def test_a_failed_run_is_counted_as_failed(engine_dirs, make_task):
    def boom() -> dict:
        raise RuntimeError("boom")

    task_id = make_task(boom, task_id="metrics_failed")

    task_execute(task_id=task_id)

    assert (_runs(task_id, "failed"), _runs(task_id, "completed")) == (1, 0)
