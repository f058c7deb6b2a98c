"""Representative inputs for every contract shape, full and empty.

Each case calls a pure contract function on unsaved instances (no database)
at least twice: once with every optional value present and once with every
optional value absent. The snapshot test and ``contract_snapshot --write``
both build the shapes from here, so it lives with the contract rather than
the tests (production code never imports the tests or their tools).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace

from contacts.models import Contact
from contract import auth as auth_contract
from contract import contacts as contact_contract
from contract import discovery, errors, performance
from contract import metrics as metrics_contract
from contract import tasks as task_contract
from contract.snapshot import ShapeMismatch, shape_of_samples
from tasks.models import Task, TaskLog

MOMENT = datetime(2026, 1, 14, 10, 0, 0, 123456, tzinfo=UTC)
LATER = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """How to sample one shape; ``maps`` are paths of objects with free keys."""

    samples: Callable[[], list[object]]
    maps: frozenset[str] = field(default_factory=frozenset)


def _samples(build: Callable[..., object], /, *variants: dict, **common) -> list:
    """``build`` called once per variant, each time with the ``common`` values."""
    return [build(**common, **variant) for variant in variants]


def _root() -> list[object]:
    return [discovery.root_body(version="1.0.0")]


def _health() -> list[object]:
    up = {"database": "ok", "cache": "ok", "scheduler": "ok"}
    down = {"database": "down", "cache": "down", "scheduler": "not_running"}
    return _samples(
        discovery.health_body,
        {"status": "healthy", "environment": "development", **up},
        {"status": "unhealthy", "environment": "production", **down},
        version="1.0.0",
    )


def _info() -> list[object]:
    notice = discovery.deprecation_notice(
        methods=("GET",),
        path="/api/v1/old",
        successor="/api/v1/new",
        sunset=date(2027, 6, 30),
    )
    switches = ("signed", "rate_limiting", "cors_enabled", "https_only")
    return _samples(
        discovery.info_body,
        {**dict.fromkeys(switches, True), "notices": [notice]},
        {**dict.fromkeys(switches, False), "notices": []},
        version="1.0.0",
        environment="development",
    )


def _error() -> list[object]:
    return [errors.error_body(404, "Resource not found"), errors.NotFound().body()]


def _error_with_details() -> list[object]:
    return [
        errors.error_body(
            400, "phone: invalid", {"phone": ["invalid"], "name": ["too short"]}
        ),
        errors.Invalid("name is required", field="name").body(),
    ]


def _token_pair() -> list[object]:
    return [
        auth_contract.token_pair_body(access="a.b.c", refresh="d.e.f", expires_in=86400)
    ]


def _protected() -> list[object]:
    return [
        auth_contract.protected_body(username="amina", role="admin"),
        auth_contract.protected_body(username="", role="user"),
    ]


def _contacts() -> list:
    return [
        Contact(
            id=1,
            name="Amina Otieno",
            phone="+254712345678",
            email="amina@example.com",
            created_at=MOMENT,
            updated_at=LATER,
        ),
        Contact(
            id=2,
            name="John Doe",
            phone="+254712345679",
            email=None,
            created_at=MOMENT,
            updated_at=MOMENT,
        ),
    ]


def _contact() -> list[object]:
    return [contact_contract.contact_to_dict(contact) for contact in _contacts()]


def _contact_list() -> list[object]:
    return [
        contact_contract.contact_list_body(
            _contacts(),
            total=5,
            limit=2,
            offset=0,
            next_cursor="opaque-cursor",
            next_url="http://testserver/api/v1/contacts?cursor=opaque-cursor",
        ),
        contact_contract.contact_list_body(
            [], total=0, limit=100, offset=0, next_cursor=None, next_url=None
        ),
    ]


def _task(*, enabled: bool) -> Task:
    return Task(
        id="backup", name="Daily Backup", schedule="0 2 * * *", is_enabled=enabled
    )


# A failed run with every optional value set, and a running one with none.
_FAILED_LOG = {
    "pk": 42,
    "task_type": "backup",
    "task_name": "Daily Backup",
    "status": TaskLog.Status.FAILED,
    "started_at": MOMENT,
    "completed_at": LATER,
    "result": '{"file": "backup.sqlite3.gz"}',
    "error": "disk full",
}
_RUNNING_LOG = {
    **_FAILED_LOG,
    "pk": 43,
    "task_type": "cleanup",
    "task_name": "Hourly Cleanup",
    "status": TaskLog.Status.RUNNING,
    **dict.fromkeys(("completed_at", "result", "error")),
}


def _task_log(*, finished: bool) -> TaskLog:
    return TaskLog(**(_FAILED_LOG if finished else _RUNNING_LOG))


def _task_dicts() -> list[dict]:
    return [
        task_contract.task_to_dict(
            _task(enabled=True), last_log=_task_log(finished=True), next_run=LATER
        ),
        task_contract.task_to_dict(_task(enabled=False), last_log=None, next_run=None),
    ]


def _task_list() -> list[object]:
    return [
        task_contract.task_list_body(_task_dicts()),
        task_contract.task_list_body([]),
    ]


def _task_run() -> list[object]:
    return [task_contract.task_run_body("cleanup", _task_log(finished=False))]


def _task_toggle() -> list[object]:
    return [
        task_contract.task_toggle_body(_task(enabled=True)),
        task_contract.task_toggle_body(_task(enabled=False)),
    ]


def _scheduler_status() -> list[object]:
    jobs = [
        SimpleNamespace(task=_task(enabled=True), next_run=LATER, trigger="cron"),
        SimpleNamespace(task=_task(enabled=False), next_run=None, trigger="cron"),
    ]
    return [
        task_contract.scheduler_status_body(
            SimpleNamespace(
                running=True, leader="node-1:4242", heartbeat_at=MOMENT, jobs=jobs
            )
        ),
        task_contract.scheduler_status_body(
            SimpleNamespace(running=False, leader=None, heartbeat_at=None, jobs=[])
        ),
    ]


def _job_action() -> list[object]:
    return [task_contract.scheduler_job_action_body("backup", "paused")]


def _task_log_list() -> list[object]:
    logs = [_task_log(finished=True), _task_log(finished=False)]
    return [
        task_contract.task_log_list_body(logs, total=9, next_cursor="opaque-cursor"),
        task_contract.task_log_list_body([], total=0, next_cursor=None),
    ]


def _task_log_dicts() -> list[object]:
    return [
        task_contract.task_log_to_dict(_task_log(finished=True)),
        task_contract.task_log_to_dict(_task_log(finished=False)),
    ]


def _task_log_stats() -> list[object]:
    zero = {"total": 0, "completed": 0, "failed": 0, "running": 0, "interrupted": 0}
    some = {"total": 3, "completed": 2, "failed": 1, "running": 0, "interrupted": 0}
    return [
        task_contract.task_log_stats_body(some),
        task_contract.task_log_stats_body(zero),
    ]


_USAGE = {
    "cpu_percent": 15.5,
    "cpu_count": 2,
    "memory_total": 8 * 2**30,
    "memory_available": 5 * 2**30,
    "memory_used": 3 * 2**30,
    "memory_percent": 45.2,
    "disk_total": 100 * 2**30,
    "disk_used": 60 * 2**30,
    "disk_free": 40 * 2**30,
    "disk_percent": 60,
}


def _metrics_summary() -> list[object]:
    return [
        metrics_contract.metrics_summary_body(
            cpu_percent=15.5, memory_percent=45.2, disk_percent=60, now=MOMENT
        ),
        metrics_contract.metrics_summary_body(
            cpu_percent=0, memory_percent=0, disk_percent=0, now=MOMENT
        ),
    ]


def _system_metrics() -> list[object]:
    return [metrics_contract.system_body(now=MOMENT, **_USAGE)]


def _api_metrics() -> list[object]:
    stats = _task_log_stats()
    full = {
        "total": 10,
        "errors": 1,
        "error_rate": 10.0,
        "p50_ms": 3.2,
        "p95_ms": 12.5,
        "p99_ms": 40.0,
        "by_endpoint": {
            "GET /api/v1/contacts": metrics_contract.endpoint_metrics_entry(
                count=10, errors=1, p50_ms=3.2, p95_ms=12.5, p99_ms=40.0
            ),
            "GET /api/v1/health": metrics_contract.endpoint_metrics_entry(
                count=2, errors=0, p50_ms=None, p95_ms=None, p99_ms=None
            ),
        },
        "cache_hits": 7,
        "cache_misses": 3,
        "tasks": stats[0],
        "contacts": 3,
        "task_logs": 3,
        "integrity_verified": True,
    }
    counts = ("total", "errors", "cache_hits", "cache_misses", "contacts", "task_logs")
    empty = {
        **full,
        **dict.fromkeys(counts, 0),
        **dict.fromkeys(("p50_ms", "p95_ms", "p99_ms")),
        "error_rate": 0.0,
        "by_endpoint": {},
        "tasks": stats[1],
        "integrity_verified": False,
    }
    return _samples(
        metrics_contract.api_metrics_body, full, empty, system=_system_metrics()[0]
    )


def _error_log() -> list[object]:
    entry = {
        "timestamp": "2026-01-14T10:00:00.123456Z",
        "level": "ERROR",
        "module": "autom8.errors",
        "message": "Unhandled error in GET /api/v1/contacts",
        "request_id": "4f7c2a10-9b1e-4c8d-a2f3-0d9e8c7b6a51",
    }
    return [
        metrics_contract.error_log_body([entry, {**entry, "request_id": None}]),
        metrics_contract.error_log_body([]),
    ]


def _cache_clear() -> list[object]:
    return [performance.cache_clear_body(cleared_at=MOMENT)]


CASES: dict[str, Case] = {
    "root": Case(_root, maps=frozenset({"endpoints"})),
    "health": Case(_health),
    "info": Case(_info),
    "error": Case(_error),
    "error_with_details": Case(_error_with_details, maps=frozenset({"details"})),
    "token_pair": Case(_token_pair),
    "protected": Case(_protected),
    "contact": Case(_contact),
    "contact_list": Case(_contact_list),
    "task": Case(_task_dicts),
    "task_list": Case(_task_list),
    "task_run": Case(_task_run),
    "task_toggle": Case(_task_toggle),
    "scheduler_status": Case(_scheduler_status),
    "job_action": Case(_job_action),
    "task_log": Case(_task_log_dicts),
    "task_log_list": Case(_task_log_list),
    "task_log_stats": Case(_task_log_stats),
    "metrics_summary": Case(_metrics_summary),
    "system_metrics": Case(_system_metrics),
    "api_metrics": Case(_api_metrics, maps=frozenset({"requests.by_endpoint"})),
    "error_log": Case(_error_log),
    "cache_clear": Case(_cache_clear),
}


def current_shapes() -> dict[str, object]:
    """Every shape as the contract functions produce it now.

    Raises ShapeMismatch, naming the shape, when one depends on the data.
    """
    shapes = {}
    for name, case in CASES.items():
        try:
            shapes[name] = shape_of_samples(case.samples(), maps=case.maps)
        except ShapeMismatch as exc:
            raise ShapeMismatch(f"{name}: {exc}") from exc
    return shapes
