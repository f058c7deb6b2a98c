"""Which tokens and sessions are revoked, without a query per request.

Every authenticated request asks whether its access token (``jti:<id>``) or
its session (``sid:<id>``) was revoked. The answer comes from an in-process
snapshot of the unexpired ``RevokedToken`` keys (``security.cache.local``),
valid while the shared ``auth`` generation (moved on after every committed
write to the table or the user table, by any process) is unchanged and for at most
``SNAPSHOT_SECONDS``. The generation is read before the table, so a
revocation committed meanwhile always leads to a reload. When the shared
cache does not answer, the table is read on every request: revocation is
never skipped, only made slower. A revocation whose generation bump was
lost to a cache outage reaches other processes within ``SNAPSHOT_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from security.cache.generations import AUTH_SCOPE
from security.cache.local import LocalCopies
from security.models import RevokedToken

SCOPE = AUTH_SCOPE
SNAPSHOT_SECONDS = 5.0

_snapshot: LocalCopies[frozenset[str]] = LocalCopies(SCOPE, max_age=SNAPSHOT_SECONDS)


def _load() -> frozenset[str]:
    return frozenset(
        RevokedToken.objects.filter(expires_at__gt=timezone.now()).values_list(
            "key", flat=True
        )
    )


def revoked_keys() -> frozenset[str]:
    """Keys of every revocation that has not expired yet."""
    return _snapshot.get(None, _load)


def any_revoked(keys: Iterable[str]) -> bool:
    """Whether any of ``keys`` is revoked."""
    return not revoked_keys().isdisjoint(keys)


def forget_revocations() -> None:
    """Drop this process's snapshot (tests that rewrite the table directly)."""
    _snapshot.forget()
