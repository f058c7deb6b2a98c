"""§6 shapes: metrics, system resources and the error log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from contract.query import parse_known_params, parse_limit
from contract.time import iso_utc
from tasks.models import TASK_LOG_LIST_DEFAULT_LIMIT, TASK_LOG_LIST_MAX_LIMIT

ERROR_ENTRY_KEYS = ("timestamp", "level", "module", "message", "request_id")
# The same page bounds as task logs.
ERROR_LOG_DEFAULT_LIMIT = TASK_LOG_LIST_DEFAULT_LIMIT
ERROR_LOG_MAX_LIMIT = TASK_LOG_LIST_MAX_LIMIT
_MB = 2**20
_GB = 2**30


def metrics_summary_body(
    *, cpu_percent: float, memory_percent: float, disk_percent: float, now: datetime
) -> dict:
    """``GET /metrics`` as JSON: the host's load in percent."""
    return {
        "cpu_percent": float(cpu_percent),
        "memory_percent": float(memory_percent),
        "disk_percent": float(disk_percent),
        "timestamp": iso_utc(now),
    }


def system_body(
    *,
    now: datetime,
    cpu_percent: float,
    cpu_count: int,
    memory_total: int,
    memory_available: int,
    memory_used: int,
    memory_percent: float,
    disk_total: int,
    disk_used: int,
    disk_free: int,
    disk_percent: float,
) -> dict:
    """``GET /metrics/system``: CPU, memory (MB) and disk (GB) of the host."""
    return {
        "timestamp": iso_utc(now),
        "cpu": {"percent": float(cpu_percent), "count": int(cpu_count)},
        "memory": {
            "total_mb": round(memory_total / _MB, 1),
            "available_mb": round(memory_available / _MB, 1),
            "used_mb": round(memory_used / _MB, 1),
            "percent": float(memory_percent),
        },
        "disk": {
            "total_gb": round(disk_total / _GB, 2),
            "used_gb": round(disk_used / _GB, 2),
            "free_gb": round(disk_free / _GB, 2),
            "percent": float(disk_percent),
        },
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else float(value)


def endpoint_metrics_entry(
    *,
    count: int,
    errors: int,
    p50_ms: float | None,
    p95_ms: float | None,
    p99_ms: float | None,
) -> dict:
    """One route of ``requests.by_endpoint``; percentiles None without recent data."""
    return {
        "count": int(count),
        "errors": int(errors),
        "p50_ms": _ms(p50_ms),
        "p95_ms": _ms(p95_ms),
        "p99_ms": _ms(p99_ms),
    }


def api_metrics_body(
    *,
    total: int,
    errors: int,
    error_rate: float,
    p50_ms: float | None,
    p95_ms: float | None,
    p99_ms: float | None,
    by_endpoint: Mapping[str, dict],
    cache_hits: int,
    cache_misses: int,
    tasks: dict,
    contacts: int,
    task_logs: int,
    system: dict,
    integrity_verified: bool,
) -> dict:
    """``GET /api/v1/metrics``; ``tasks`` and ``system`` are already shaped.

    ``errors`` counts 5xx answers; ``hit_rate`` and ``error_rate`` are
    percentages with 2 decimals, 0 when nothing was counted.
    """
    lookups = cache_hits + cache_misses
    return {
        "requests": {
            "total": int(total),
            "errors": int(errors),
            "error_rate": float(error_rate),
            "latency_ms": {"p50": _ms(p50_ms), "p95": _ms(p95_ms), "p99": _ms(p99_ms)},
            "by_endpoint": dict(by_endpoint),
        },
        "cache": {
            "hits": int(cache_hits),
            "misses": int(cache_misses),
            "hit_rate": round(cache_hits / lookups * 100, 2) if lookups else 0.0,
        },
        "tasks": tasks,
        "database": {"contacts": int(contacts), "task_logs": int(task_logs)},
        "system": system,
        "integrity_verified": bool(integrity_verified),
    }


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def error_log_body(entries: list[Mapping]) -> dict:
    """``GET /api/v1/logs/errors``: the entries as given (newest first)."""
    errors = [
        {key: _text(entry.get(key)) for key in ERROR_ENTRY_KEYS} for entry in entries
    ]
    return {"count": len(errors), "errors": errors}


def parse_error_log_query(params: Mapping[str, str]) -> int:
    """The ``limit`` of an error log query, 1-500 (default 50), as for task logs.

    Raises Invalid naming ``limit`` when it is blank or out of range.
    """
    raw = parse_known_params(params, ("limit",)).get("limit")
    if raw is None:
        return ERROR_LOG_DEFAULT_LIMIT
    return parse_limit(raw, maximum=ERROR_LOG_MAX_LIMIT)
