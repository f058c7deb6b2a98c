"""Reads of the page cache's state."""

from __future__ import annotations

from caching.stats import flush_counts, shared_counts


def cache_stats() -> dict[str, int]:
    """``{"hits", "misses"}`` of the page cache over every process of the
    node (every node with Redis); other processes' counts arrive within
    about a second (see ``caching.stats``)."""
    flush_counts()
    return shared_counts()
