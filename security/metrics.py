"""Request, task and cache metrics of every process of a node.

prometheus-client's multiprocess mode keeps each process's values in
memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR`` (exported by the
settings before anything imports prometheus-client); reading merges the
files of all processes, so gunicorn workers, the scheduler and the commands
are all counted. Recording is a few in-memory writes, no I/O per request.

Percentiles are taken over a bounded recent window, from histogram buckets:
each process also counts its requests per bucket in one of ``WINDOW_SLOTS``
one-minute slots (a gauge per process), stamped with the minute it holds.
A process recycles a slot when a new minute starts, and the reader merges
only slots of the last ``WINDOW_SLOTS`` minutes. This costs no more than a
histogram observation, stays exact across workers (dead ones included until
their slots age out), and bounds memory (routes x slots x buckets per
process); the price is bucket resolution, interpolated linearly.

Routes are labelled by their URL pattern (``GET /api/v1/tasks/<str:task_id>``),
never the raw path, so label values stay few and free of personal data.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
from django.http import HttpRequest
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import (
    generate_latest as generate_openmetrics,
)
from prometheus_client.registry import Collector

logger = logging.getLogger("autom8.metrics")

UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
# Upper bounds of the latency buckets, in milliseconds.
LATENCY_BUCKETS_MS = (1, 2.5, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000)
TASK_BUCKETS_SECONDS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
WINDOW_SLOTS = 5
WINDOW_SECONDS = 60
_WINDOW_PREFIX = "autom8_window_"
_INF = "+Inf"
_BUCKET_LABELS = (*(str(b) for b in LATENCY_BUCKETS_MS), _INF)

REQUESTS = Counter(
    "autom8_http_requests",
    "HTTP requests by route pattern and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "autom8_http_request_duration_seconds",
    "HTTP request latency by route pattern.",
    ["method", "route"],
    buckets=tuple(b / 1000 for b in LATENCY_BUCKETS_MS),
)
TASK_RUNS = Counter(
    "autom8_task_runs", "Finished task runs by task and status.", ["task", "status"]
)
TASK_DURATION = Histogram(
    "autom8_task_run_duration_seconds",
    "Task run durations by task.",
    ["task"],
    buckets=TASK_BUCKETS_SECONDS,
)
CACHE_LOOKUPS = Counter(
    "autom8_cache_lookups",
    "Response-cache lookups by result (hit or miss).",
    ["result"],
)
# Internal: the recent-window buckets and the minute each slot holds. Kept
# per process ("all") and left out of the exposition.
_WINDOW_COUNTS = Gauge(
    f"{_WINDOW_PREFIX}requests",
    "Requests per latency bucket in one window slot (internal).",
    ["endpoint", "slot", "le", "error"],
    multiprocess_mode="all",
)
_WINDOW_MINUTE = Gauge(
    f"{_WINDOW_PREFIX}minute",
    "The minute a window slot holds (internal).",
    ["slot"],
    multiprocess_mode="all",
)


class _Window:
    """This process's side of the recent-window slots."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minutes: dict[int, int] = {}
        self.children: dict[int, dict] = defaultdict(dict)

    def record(self, endpoint: str, elapsed_ms: float, error: bool) -> None:
        minute = int(time.time() // WINDOW_SECONDS)
        slot = minute % WINDOW_SLOTS
        le = _BUCKET_LABELS[bisect.bisect_left(LATENCY_BUCKETS_MS, elapsed_ms)]
        with self.lock:
            if self.minutes.get(slot) != minute:
                for child in self.children.pop(slot, {}).values():
                    child.set(0)
                _WINDOW_MINUTE.labels(str(slot)).set(minute)
                self.minutes[slot] = minute
            key = (endpoint, le, error)
            child = self.children[slot].get(key)
            if child is None:
                child = _WINDOW_COUNTS.labels(endpoint, str(slot), le, str(error))
                self.children[slot][key] = child
            child.inc()


_window = _Window()
_ready = {"dir": False}


def metrics_dir() -> Path:
    """The folder every process of the node writes its metrics to."""
    return Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def metrics_dir_prepare(*, clean: bool = False) -> Path:
    """Create the metrics folder (0700); ``clean`` drops files of dead processes.

    Called once per process before the first write, and by the gunicorn
    master at start. A live process's files are kept: the scheduler may be
    started before the server and its task counts must survive.
    """
    path = metrics_dir()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    if clean:
        for file in path.glob("*.db"):
            pid = file.stem.rsplit("_", 1)[-1]
            if not (pid.isdigit() and psutil.pid_exists(int(pid))):
                file.unlink(missing_ok=True)
    return path


def metrics_process_dead(pid: int) -> None:
    """Forget the live gauges of a process that exited (gunicorn ``child_exit``)."""
    multiprocess.mark_process_dead(pid, str(metrics_dir()))


def _ensure_dir() -> None:
    if not _ready["dir"]:
        metrics_dir_prepare()
        _ready["dir"] = True


def request_endpoint(request: HttpRequest) -> str:
    """``METHOD /url/pattern`` of a request, or ``METHOD <unmatched>``."""
    method = request.method if request.method in METHODS else "OTHER"
    match = getattr(request, "resolver_match", None)
    route = f"/{match.route}" if match is not None and match.route else UNMATCHED
    return f"{method} {route}"


# Labelled children by (endpoint, status): ``labels()`` validates and locks
# on every call, a plain dict lookup does not.
_request_children: dict[tuple[str, int], tuple] = {}


def request_record(*, request: HttpRequest, status: int, elapsed_ms: float) -> None:
    """Count one answered request, its status and latency.

    A metrics folder that cannot be written (full disk, wrong owner) costs
    the numbers, never the request: the failure is logged once per process.
    """
    _recording(_request_record, request, status, elapsed_ms)


def _recording(record, *args) -> None:
    """Run ``record``; an unwritable metrics folder is logged once, not raised."""
    try:
        _ensure_dir()
        record(*args)
    except OSError as exc:
        if not _ready.get("warned"):
            _ready["warned"] = True
            logger.warning("Metrics not recorded: %s", type(exc).__name__)


def _request_record(request: HttpRequest, status: int, elapsed_ms: float) -> None:
    endpoint = request_endpoint(request)
    children = _request_children.get((endpoint, status))
    if children is None:
        method, route = endpoint.split(" ", 1)
        children = (
            REQUESTS.labels(method, route, str(status)),
            LATENCY.labels(method, route),
        )
        _request_children[(endpoint, status)] = children
    children[0].inc()
    children[1].observe(elapsed_ms / 1000)
    _window.record(endpoint, elapsed_ms, status >= 500)


def task_run_record(
    *, task: str, status: str, started_at: datetime | None, ended_at: datetime | None
) -> None:
    """Count one finished task run and its duration (never raises for the files)."""
    _recording(_task_run_record, task, status, started_at, ended_at)


def _task_run_record(task, status, started_at, ended_at) -> None:
    TASK_RUNS.labels(task, status).inc()
    if started_at is not None and ended_at is not None:
        seconds = (ended_at - started_at).total_seconds()
        TASK_DURATION.labels(task).observe(max(seconds, 0.0))


# --- reading -------------------------------------------------------------------


@dataclass
class EndpointStats:
    """Counts since start and latency percentiles of the recent window."""

    count: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass
class RequestStats:
    """All requests of the node: totals, recent percentiles, per endpoint."""

    total: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    recent_count: int = 0
    recent_errors: int = 0
    window_seconds: int = WINDOW_SLOTS * WINDOW_SECONDS
    by_endpoint: dict[str, EndpointStats] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        """Server errors (5xx) per 100 requests since start."""
        return round(self.errors / self.total * 100, 2) if self.total else 0.0


def _collect() -> list[Metric]:
    _ensure_dir()
    return list(multiprocess.MultiProcessCollector(None, str(metrics_dir())).collect())


def request_stats(*, now: float | None = None) -> RequestStats:
    """Requests of every process: counts since start, percentiles of the window."""
    now = time.time() if now is None else now
    stats = RequestStats()
    slots: dict[tuple[str, str], int] = {}
    buckets: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    window_samples = []
    for metric in _collect():
        for sample in metric.samples:
            if sample.name == "autom8_http_requests_total":
                _add_count(stats, sample.labels, int(sample.value))
            elif sample.name == f"{_WINDOW_PREFIX}minute":
                slots[(sample.labels["pid"], sample.labels["slot"])] = int(sample.value)
            elif sample.name == f"{_WINDOW_PREFIX}requests":
                window_samples.append(sample)
    current = int(now // WINDOW_SECONDS)
    for sample in window_samples:
        labels = sample.labels
        minute = slots.get((labels["pid"], labels["slot"]))
        if minute is None or not current - WINDOW_SLOTS < minute <= current:
            continue
        buckets[labels["endpoint"]][labels["le"]] += sample.value
        buckets[""][labels["le"]] += sample.value
        stats.recent_count += int(sample.value)
        stats.recent_errors += int(sample.value) if labels["error"] == "True" else 0
    for endpoint, counts in buckets.items():
        target = stats if endpoint == "" else stats.by_endpoint.get(endpoint)
        if target is None:
            continue
        target.p50_ms = _quantile(0.50, counts)
        target.p95_ms = _quantile(0.95, counts)
        target.p99_ms = _quantile(0.99, counts)
    return stats


def _add_count(stats: RequestStats, labels: dict, value: int) -> None:
    endpoint = stats.by_endpoint.setdefault(
        f"{labels['method']} {labels['route']}", EndpointStats()
    )
    error = labels["status"].isdigit() and int(labels["status"]) >= 500
    endpoint.count += value
    stats.total += value
    if error:
        endpoint.errors += value
        stats.errors += value


def _quantile(q: float, counts: dict[str, float]) -> float | None:
    """The ``q`` quantile in ms from per-bucket counts, interpolated in a bucket."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    lower = 0.0
    for bound, label in zip((*LATENCY_BUCKETS_MS, None), _BUCKET_LABELS, strict=True):
        in_bucket = counts.get(label, 0.0)
        if bound is None:  # beyond the last bound: report that bound
            return float(LATENCY_BUCKETS_MS[-1])
        if in_bucket and seen + in_bucket >= rank:
            return round(lower + (bound - lower) * (rank - seen) / in_bucket, 2)
        seen += in_bucket
        lower = bound
    return float(LATENCY_BUCKETS_MS[-1])


def cache_lookup_record(*, hit: bool) -> None:
    """Count one response-cache lookup (a shared-file write, no I/O wait)."""
    _recording(_cache_lookup_record, hit)


def _cache_lookup_record(hit: bool) -> None:
    CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()


def cache_stats() -> dict[str, int]:
    """Response-cache hits and misses of every process since the server started."""
    counts = {"hits": 0, "misses": 0}
    for metric in _collect():
        for sample in metric.samples:
            if sample.name == "autom8_cache_lookups_total":
                key = "hits" if sample.labels["result"] == "hit" else "misses"
                counts[key] += int(sample.value)
    return counts


# --- exposition ----------------------------------------------------------------


class _ExposedCollector(Collector):
    """Every process's metrics without the internal window, plus live readings."""

    def collect(self) -> Iterator[Metric]:
        for metric in _collect():
            if not metric.name.startswith(_WINDOW_PREFIX):
                yield metric
        yield from _process_families(_live_pids())


def _live_pids() -> list[int]:
    pids = {
        int(pid)
        for file in metrics_dir().glob("*.db")
        if (pid := file.stem.rsplit("_", 1)[-1]).isdigit()
    }
    pids.add(os.getpid())
    return sorted(pid for pid in pids if psutil.pid_exists(pid))


def _process_families(pids: list[int]) -> Iterable[Metric]:
    memory = GaugeMetricFamily(
        "autom8_process_resident_memory_bytes", "Resident memory.", labels=["pid"]
    )
    cpu = CounterMetricFamily(
        "autom8_process_cpu_seconds", "User and system CPU time.", labels=["pid"]
    )
    threads = GaugeMetricFamily(
        "autom8_process_threads", "Threads of the process.", labels=["pid"]
    )
    started = GaugeMetricFamily(
        "autom8_process_start_time_seconds", "Start, Unix time.", labels=["pid"]
    )
    for pid in pids:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                times = process.cpu_times()
                memory.add_metric([str(pid)], process.memory_info().rss)
                cpu.add_metric([str(pid)], times.user + times.system)
                threads.add_metric([str(pid)], process.num_threads())
                started.add_metric([str(pid)], process.create_time())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return [memory, cpu, threads, started]


def metrics_exposition(*, openmetrics: bool) -> bytes:
    """The Prometheus exposition of every process's metrics."""
    registry = CollectorRegistry()
    registry.register(_ExposedCollector())
    return generate_openmetrics(registry) if openmetrics else generate_latest(registry)
