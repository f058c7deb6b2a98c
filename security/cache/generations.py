"""Generations: one shared number per cached scope, part of every page key.

A page is stored under the generation read *before* its data was queried.
Every committed write to a scope's table moves that generation on, so from
then on every worker process and every node looks up new keys: the pages
cached before the write are never served again (they age out by
``CACHE_TTL`` or least-recently-used eviction).

The bump runs after COMMIT, not inside the transaction: bumped before the
commit, a reader in another worker could read the new generation, query the
not yet committed (old) rows and store them under it, where they would stay
after the write was answered. After COMMIT and before the write's response
leaves the process (``transaction.on_commit`` runs synchronously in the
committing thread), any reader that sees the new generation queries
committed rows. A reader that saw the old generation stores at most an
unreachable page.

Writes are noticed where every write passes: an ``execute_wrapper`` on each
database connection of every process (web workers, the scheduler,
management commands, the admin) sees INSERT, UPDATE, DELETE and TRUNCATE on
a watched table, whatever issued them (services, ``bulk_create``,
``QuerySet.update``, ``flush``/``loaddata``). Writes that bypass Django's
connections (a restore through ``psql`` or SQLite's backup API) call
``scopes_bump`` themselves.

The generations live in the ``shared`` cache: a diskcache directory shared
by the processes of the node on the embedded default, Redis when
``REDIS_URL`` is set. A generation that is missing (first use, eviction,
a flushed Redis) starts again at a random 48-bit number, never at a value
an earlier page could have been stored under.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import secrets
from collections.abc import Iterator

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db import transaction

logger = logging.getLogger("autom8.cache")

SHARED_ALIAS = "shared"
AUTH_SCOPE = "auth"
# Scope -> the models whose tables its copies are read from. Pages are
# cached under ``contacts`` and ``task_logs``; ``auth`` keeps the in-process
# copies of ``security.cache.local`` that authenticate a request (the
# revoked tokens, the users), so one generation read serves both.
SCOPE_MODELS = {
    "contacts": ("contacts.Contact",),
    "task_logs": ("tasks.TaskLog",),
    AUTH_SCOPE: ("security.RevokedToken", settings.AUTH_USER_MODEL),
}
SCOPES = tuple(SCOPE_MODELS)
# Within one request a scope's generation is read once (``per_request``).
_request_generations: contextvars.ContextVar[dict[str, int] | None] = (
    contextvars.ContextVar("autom8_request_generations", default=None)
)
# The first six letters of the statements that change rows.
_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLAC", "TRUNCA"})


def _key(scope: str) -> str:
    return f"cache:generation:{scope}"


def _fresh_start() -> int:
    return secrets.randbits(48)


@contextlib.contextmanager
def per_request() -> Iterator[None]:
    """Within the block each scope's generation is read from the shared cache
    once; a bump in the block (a write of the request) forgets it.

    A request needs a generation before it reads data (authenticating,
    looking a page up, counting); reading it once at the first need keeps
    every later read of the request at least as new as the generation.
    """
    token = _request_generations.set({})
    try:
        yield
    finally:
        _request_generations.reset(token)


def scope_generation(scope: str) -> int | None:
    """The current generation of ``scope``; None when the shared cache does
    not answer (the caller then serves without the cache)."""
    remembered = _request_generations.get()
    if remembered is not None and scope in remembered:
        return remembered[scope]
    value = _read_generation(scope)
    if remembered is not None and value is not None:
        remembered[scope] = value
    return value


def _read_generation(scope: str) -> int | None:
    cache = caches[SHARED_ALIAS]
    key = _key(scope)
    try:
        value = cache.get(key)
        if value is None:
            cache.add(key, _fresh_start(), timeout=None)
            value = cache.get(key)
    except Exception as exc:  # noqa: BLE001 - a cache outage must not fail reads
        logger.warning("Page cache: generation of %s unreadable (%s)", scope, exc)
        return None
    return value


def scopes_bump(*scopes: str) -> None:
    """Move each scope's generation on: no page cached before is served again."""
    remembered = _request_generations.get()
    if remembered:
        for scope in scopes:
            remembered.pop(scope, None)
    cache = caches[SHARED_ALIAS]
    for scope in scopes:
        try:
            _bump(cache, _key(scope))
        except Exception as exc:  # noqa: BLE001 - logged; pages expire by CACHE_TTL
            logger.error(
                "Page cache: generation of %s not bumped (%s); its cached pages "
                "may be served until CACHE_TTL passes",
                scope,
                exc,
            )


def _bump(cache, key: str) -> None:
    for _attempt in range(3):
        try:
            if cache.incr(key) is None:  # django-redis swallowing an outage
                raise ConnectionError("the shared cache did not answer")
            return
        except ValueError:  # missing: any fresh start is a new generation
            if cache.add(key, _fresh_start(), timeout=None):
                return
    raise RuntimeError("the generation could be neither incremented nor created")


@functools.cache
def _watched_tables() -> dict[str, str]:
    return {
        apps.get_model(label)._meta.db_table: scope
        for scope, labels in SCOPE_MODELS.items()
        for label in labels
    }


def written_scopes(sql: str) -> tuple[str, ...]:
    """The scopes whose tables the statement ``sql`` may change."""
    if sql.lstrip()[:6].upper() not in _WRITE_VERBS:
        return ()
    return tuple(
        dict.fromkeys(
            scope for table, scope in _watched_tables().items() if table in sql
        )
    )


def _invalidate_on_write(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    scopes = written_scopes(sql if isinstance(sql, str) else str(sql))
    if scopes:
        connection = context["connection"]
        bump = functools.partial(scopes_bump, *scopes)
        if connection.in_atomic_block or connection.get_autocommit():
            # Inside atomic(): after COMMIT; in autocommit: now (committed).
            transaction.on_commit(bump, using=connection.alias)
        else:  # manual transaction management: the commit is not observable
            bump()
    return result


def watch_writes(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: install the write watcher once."""
    if _invalidate_on_write not in connection.execute_wrappers:
        connection.execute_wrappers.append(_invalidate_on_write)
