"""Discovery and status shapes: ``/``, ``health``, ``info`` (API_CONTRACT.md §2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

SERVICE_NAME = "Autom8 API"
PRODUCT_NAME = "Autom8"
API_VERSION = "v1"
DOCUMENTATION_PATH = "/api/v1/docs/"

# The main routes, by name; fixed by the contract, so listed by hand.
ENDPOINTS = {
    "health": "/api/v1/health",
    "info": "/api/v1/info",
    "schema": "/api/v1/schema",
    "docs": DOCUMENTATION_PATH,
    "redoc": "/api/v1/redoc/",
    "auth_token": "/api/v1/auth/token",  # nosec B105  # a route
    "auth_token_refresh": "/api/v1/auth/token/refresh",  # nosec B105  # a route
    "auth_logout": "/api/v1/auth/logout",
    "auth_protected": "/api/v1/auth/protected",
    "contacts": "/api/v1/contacts",
    "tasks": "/api/v1/tasks",
    "scheduler_status": "/api/v1/scheduler/status",
    "task_logs": "/api/v1/task_logs",
    "task_log_stats": "/api/v1/task_logs/stats",
    "metrics": "/api/v1/metrics",
    "metrics_system": "/api/v1/metrics/system",
    "logs_errors": "/api/v1/logs/errors",
    "prometheus": "/metrics",
    "admin": "/admin/",
}


def root_body(*, version: str) -> dict:
    """``GET /``: the service name, version and where everything lives."""
    return {
        "service": SERVICE_NAME,
        "version": version,
        "endpoints": dict(ENDPOINTS),
        "documentation": DOCUMENTATION_PATH,
    }


def health_body(
    *,
    status: str,
    version: str,
    environment: str,
    database: str,
    cache: str,
    scheduler: str,
) -> dict:
    """``GET /api/v1/health``: overall status and one word per dependency."""
    return {
        "status": status,
        "service": SERVICE_NAME,
        "version": version,
        "environment": environment,
        "checks": {"database": database, "cache": cache, "scheduler": scheduler},
    }


def deprecation_notice(
    *, methods: Sequence[str], path: str, successor: str, sunset: date
) -> str:
    """One ``info.notices`` line for a deprecated route."""
    return (
        f"{', '.join(methods)} {path} is deprecated; use {successor}. "
        f"Sunset: {sunset.isoformat()}."
    )


def info_body(
    *,
    version: str,
    environment: str,
    signed: bool,
    rate_limiting: bool,
    cors_enabled: bool,
    https_only: bool,
    notices: Sequence[str],
) -> dict:
    """``GET /api/v1/info``: version, security posture and deprecation notices."""
    return {
        "name": PRODUCT_NAME,
        "version": version,
        "api_version": API_VERSION,
        "environment": environment,
        "licensed": True,
        "integrity": "verified" if signed else "unsigned",
        "security": {
            "rate_limiting": rate_limiting,
            "cors_enabled": cors_enabled,
            "https_only": https_only,
        },
        "notices": list(notices),
        "documentation": DOCUMENTATION_PATH,
    }
