"""Metrics shared by every process: recording, the recent window, the exposition."""

from __future__ import annotations

import os
import time

import pytest
from django.test import RequestFactory
from django.urls import resolve

from security import metrics
from security.metrics import (
    LATENCY_BUCKETS_MS,
    WINDOW_SECONDS,
    WINDOW_SLOTS,
    cache_lookup_record,
    cache_stats,
    metrics_dir_prepare,
    metrics_exposition,
    request_endpoint,
    request_record,
    request_stats,
    task_run_record,
)


def _request(path: str, method: str = "GET"):
    request = RequestFactory().generic(method, path)
    request.resolver_match = resolve(path)
    return request


def _count(endpoint: str) -> int:
    found = request_stats().by_endpoint.get(endpoint)
    return found.count if found else 0


class TestEndpointName:
    def test_a_route_is_named_by_its_pattern_not_its_path(self):
        assert request_endpoint(_request("/api/v1/contacts/254712345678")) == (
            "GET /api/v1/contacts/<str:contact_id>"
        )

    def test_an_unresolved_request_is_unmatched(self):
        request = RequestFactory().get("/no/such/page")

        assert request_endpoint(request) == "GET <unmatched>"

    def test_an_unknown_method_is_grouped(self):
        request = RequestFactory().generic("BREW", "/api/v1/health")

        assert request_endpoint(request).startswith("OTHER ")


class TestRecording:
    def test_each_request_is_counted_once(self):
        endpoint = "POST /api/v1/contacts"
        before = _count(endpoint)

        for _ in range(3):
            request_record(
                request=_request("/api/v1/contacts", "POST"), status=201, elapsed_ms=4
            )

        assert _count(endpoint) == before + 3

    def test_server_errors_are_counted_as_errors(self):
        request = _request("/api/v1/tasks/backup/run", "POST")
        before = request_stats().errors

        request_record(request=request, status=500, elapsed_ms=3)
        request_record(request=request, status=404, elapsed_ms=3)

        assert request_stats().errors == before + 1

    def test_percentiles_come_from_the_recorded_latencies(self):
        request = _request("/api/v1/tasks/cleanup", "GET")
        for _ in range(90):
            request_record(request=request, status=200, elapsed_ms=3)
        for _ in range(10):
            request_record(request=request, status=200, elapsed_ms=900)

        endpoint = request_stats().by_endpoint["GET /api/v1/tasks/<str:task_id>"]

        assert 2.5 <= endpoint.p50_ms <= 5
        assert 750 <= endpoint.p99_ms <= 1000

    def test_slots_older_than_the_window_are_left_out(self):
        request = _request("/api/v1/scheduler/status", "GET")
        request_record(request=request, status=200, elapsed_ms=3)
        later = time.time() + WINDOW_SLOTS * WINDOW_SECONDS

        stats = request_stats(now=later)

        assert stats.by_endpoint["GET /api/v1/scheduler/status"].count >= 1
        assert stats.by_endpoint["GET /api/v1/scheduler/status"].p50_ms is None

    def test_recording_a_request_costs_microseconds(self):
        request = _request("/api/v1/contacts", "GET")
        request_record(request=request, status=200, elapsed_ms=1)
        runs = 2000

        started = time.process_time()
        for _ in range(runs):
            request_record(request=request, status=200, elapsed_ms=1)
        per_call_us = (time.process_time() - started) / runs * 1e6

        # About 6 us of CPU measured; the bound only catches an accidental
        # write to a database or a socket, or a lock held across requests.
        assert per_call_us < 100


class TestQuantile:
    def test_a_quantile_is_interpolated_inside_its_bucket(self):
        counts = {"10": 10.0}

        assert metrics._quantile(0.5, counts) == 7.5

    def test_no_samples_give_no_quantile(self):
        assert metrics._quantile(0.95, {}) is None

    def test_beyond_the_last_bound_the_last_bound_is_reported(self):
        assert metrics._quantile(0.99, {"+Inf": 5.0}) == LATENCY_BUCKETS_MS[-1]


class TestTaskRuns:
    def test_a_finished_run_is_in_the_exposition_by_task_and_status(self):
        from django.utils import timezone

        now = timezone.now()
        task_run_record(task="backup", status="failed", started_at=now, ended_at=now)

        text = metrics_exposition(openmetrics=False).decode()

        assert 'autom8_task_runs_total{status="failed",task="backup"}' in text
        assert 'autom8_task_run_duration_seconds_count{task="backup"}' in text


class TestExposition:
    def test_the_internal_window_is_not_exposed(self):
        request_record(request=_request("/api/v1/info"), status=200, elapsed_ms=1)

        text = metrics_exposition(openmetrics=False).decode()

        assert "autom8_http_requests_total" in text
        assert "autom8_window" not in text

    def test_process_metrics_of_this_process_are_exposed(self):
        text = metrics_exposition(openmetrics=False).decode()

        assert f'autom8_process_resident_memory_bytes{{pid="{os.getpid()}"}}' in text

    def test_openmetrics_ends_with_eof(self):
        assert metrics_exposition(openmetrics=True).endswith(b"# EOF\n")


class TestCacheStats:
    def test_a_recorded_hit_and_miss_are_counted(self):
        before = cache_stats()

        cache_lookup_record(hit=True)
        cache_lookup_record(hit=False)
        cache_lookup_record(hit=False)

        after = cache_stats()
        assert after["hits"] - before["hits"] == 1
        assert after["misses"] - before["misses"] == 2

    def test_lookups_are_exposed_to_prometheus(self):
        cache_lookup_record(hit=True)

        text = metrics_exposition(openmetrics=False).decode()

        assert 'autom8_cache_lookups_total{result="hit"}' in text


class TestFolder:
    def test_the_folder_is_private(self, monkeypatch, tmp_path):
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "m"))

        path = metrics_dir_prepare()

        assert path.stat().st_mode & 0o777 == 0o700

    def test_cleaning_drops_files_of_dead_processes_only(self, monkeypatch, tmp_path):
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
        dead = tmp_path / "counter_999999999.db"
        live = tmp_path / f"counter_{os.getpid()}.db"
        dead.write_bytes(b"")
        live.write_bytes(b"")

        metrics_dir_prepare(clean=True)

        assert (dead.exists(), live.exists()) == (False, True)


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(
            lambda: request_record(
                request=_request("/api/v1/info"), status=200, elapsed_ms=1
            ),
            id="request",
        ),
        pytest.param(lambda: cache_lookup_record(hit=True), id="cache-lookup"),
        pytest.param(
            lambda: task_run_record(
                task="backup", status="completed", started_at=None, ended_at=None
            ),
            id="task-run",
        ),
    ],
)
def test_an_unwritable_metrics_folder_never_fails_a_recording(
    record, monkeypatch, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(blocker / "metrics"))
    monkeypatch.setitem(metrics._ready, "dir", False)
    monkeypatch.setitem(metrics._ready, "warned", False)

    record()

    assert metrics._ready.get("warned") is True
