"""Writes to the page cache's state."""

from __future__ import annotations

from django.core.cache import caches

from security.cache.generations import SCOPES, scopes_bump
from security.cache.pages import PAGES_ALIAS


def cache_clear() -> None:
    """Retire every cached page on every worker and node, and free this
    process's pages. Rate-limit counters and hit/miss counts are kept: the
    shared cache is never flushed, only its generations move on."""
    scopes_bump(*SCOPES)
    caches[PAGES_ALIAS].clear()
