"""Dependency checks behind ``/api/v1/health``: database, cache, scheduler.

Each check answers one word and never raises: a health endpoint that
crashes when a dependency is down tells the operator nothing.

Load balancers probe several times a second per worker; the outcome is
kept ``HEALTH_TTL_SECONDS`` per process, so probes in between cost no query
and no cache write, and an outage still shows within that time.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.db import DatabaseError, connections, transaction
from django.dispatch import receiver

from tasks.selectors import scheduler_state

logger = logging.getLogger("autom8.health")

OK = "ok"
DOWN = "down"
HEALTHY = "healthy"
DEGRADED = "degraded"
UNHEALTHY = "unhealthy"

# Longest a PostgreSQL ``SELECT 1`` may take before the database counts as
# down; connecting is bounded by DB_CONNECT_TIMEOUT in the settings.
STATEMENT_TIMEOUT_MS = 2000
HEALTH_TTL_SECONDS = 2.0


@dataclass(frozen=True)
class Health:
    """The outcome of every check and the overall status they imply."""

    database: str
    cache: str
    scheduler: str

    @property
    def status(self) -> str:
        """``unhealthy`` without a database, ``degraded`` if anything else is off."""
        if self.database != OK:
            return UNHEALTHY
        if self.cache != OK or self.scheduler != OK:
            return DEGRADED
        return HEALTHY


def database_check(*, alias: str = "default") -> str:
    """``ok`` when a real ``SELECT 1`` answers, else ``down``."""
    try:
        row = _select_one(connections[alias])
    except DatabaseError as exc:
        # No traceback: a probe polls every few seconds during an outage.
        logger.warning(
            "Health check: database %r is unreachable: %s", alias, _reason(exc)
        )
        return DOWN
    return OK if row == (1,) else DOWN


def _select_one(connection) -> tuple | None:
    if connection.vendor != "postgresql":
        # No transaction on SQLite: its IMMEDIATE mode would take the write
        # lock for a read, and a WAL reader never waits for writers.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        cursor.execute("SELECT 1")
        return cursor.fetchone()


def cache_check(*, alias: str = "default") -> str:
    """``ok`` when a unique value written to the cache reads back, else ``down``.

    django-redis is configured to swallow connection errors, so a failed
    write is only visible as a value that does not come back. The key is one
    per process and expires by itself: nothing is left to delete.
    """
    cache = caches[alias]
    key = f"health-check:{os.getpid()}"
    token = uuid.uuid4().hex
    try:
        cache.set(key, token, timeout=10)
        found = cache.get(key)
    except Exception as exc:  # noqa: BLE001 - any backend failure means "down"
        logger.warning("Health check: cache %r is unreachable: %s", alias, _reason(exc))
        return DOWN
    if found != token:
        logger.warning("Health check: cache %r did not return the value written", alias)
        return DOWN
    return OK


def scheduler_check(*, database: str) -> str:
    """The scheduler's heartbeat state: ``ok``, ``stale`` or ``not_running``.

    Leadership and heartbeat live in the database, so without one no leader
    can be confirmed: the scheduler then counts as ``not_running``.
    """
    if database != OK:
        return "not_running"
    try:
        return scheduler_state().health
    except DatabaseError as exc:
        logger.warning("Health check: scheduler state unreadable: %s", _reason(exc))
        return "not_running"


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _cache_aliases() -> list[str]:
    # The rate-limit counters and the shared cache are caches of their own
    # on the embedded default (node-local files); with Redis every alias is
    # the same server, checked once.
    seen, aliases = set(), []
    for alias in ("default", "ratelimit", "shared"):
        config = settings.CACHES.get(alias)
        if config is None:
            continue
        where = (config["BACKEND"], str(config.get("LOCATION", "")))
        if where not in seen:
            seen.add(where)
            aliases.append(alias)
    return aliases


def _run_checks() -> Health:
    database = database_check()
    caches_ok = all(cache_check(alias=alias) == OK for alias in _cache_aliases())
    return Health(
        database=database,
        cache=OK if caches_ok else DOWN,
        scheduler=scheduler_check(database=database),
    )


_last: tuple[float, Health] | None = None


def system_health(*, clock=time.monotonic) -> Health:
    """Every check's outcome, run at most once per ``HEALTH_TTL_SECONDS``."""
    global _last
    now = clock()
    last = _last
    if last is not None and 0 <= now - last[0] < HEALTH_TTL_SECONDS:
        return last[1]
    health = _run_checks()
    _last = (now, health)
    return health


def forget_health() -> None:
    """Drop the kept outcome: the next ``system_health`` runs every check."""
    global _last
    _last = None


@receiver(setting_changed)
def _settings_changed(**kwargs) -> None:
    forget_health()
