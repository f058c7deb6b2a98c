"""Which tokens and sessions are revoked, without a query per request.

Every authenticated request asks whether its access token (``jti:<id>``) or
its session (``sid:<id>``) was revoked. The answer comes from an in-process
snapshot of the unexpired ``RevokedToken`` keys, valid while the shared
``revocations`` generation (``security.cache.generations``, moved on after
every committed write to the table, by any process) is unchanged and for
at most ``SNAPSHOT_SECONDS``. The generation is read before the table, so a
revocation committed meanwhile always leads to a reload. When the shared
cache does not answer, the table is read on every request: revocation is
never skipped, only made slower. A revocation whose generation bump was
lost to a cache outage reaches other processes within ``SNAPSHOT_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from security.cache.generations import scope_generation
from security.models import RevokedToken

SCOPE = "revocations"
SNAPSHOT_SECONDS = 5.0


@dataclass(frozen=True)
class _Snapshot:
    generation: int | None
    loaded_at: float
    keys: frozenset[str]


_snapshot = _Snapshot(generation=None, loaded_at=0.0, keys=frozenset())
_lock = threading.Lock()


def revoked_keys() -> frozenset[str]:
    """Keys of every revocation that has not expired yet."""
    global _snapshot
    generation = scope_generation(SCOPE)
    current = _snapshot
    fresh = time.monotonic() - current.loaded_at < SNAPSHOT_SECONDS
    if generation is not None and generation == current.generation and fresh:
        return current.keys
    keys = frozenset(
        RevokedToken.objects.filter(expires_at__gt=timezone.now()).values_list(
            "key", flat=True
        )
    )
    if generation is not None:
        with _lock:
            _snapshot = _Snapshot(generation, time.monotonic(), keys)
    return keys


def any_revoked(keys: Iterable[str]) -> bool:
    """Whether any of ``keys`` is revoked."""
    return not revoked_keys().isdisjoint(keys)


def forget_revocations() -> None:
    """Drop this process's snapshot (tests that rewrite the table directly)."""
    global _snapshot
    with _lock:
        _snapshot = _Snapshot(generation=None, loaded_at=0.0, keys=frozenset())
