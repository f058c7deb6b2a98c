"""Hit and miss counts of the page cache, summed over every process.

Each process counts in memory; a daemon thread adds the counts to two
counters in the ``shared`` cache (``cache:stats:hits`` and
``cache:stats:misses``: the node's diskcache directory, or Redis with
``REDIS_URL``) once a second, and at exit, so a request pays no cache
write for its count. ``cache_stats`` (``caching.selectors``) adds this
process's pending counts first, so within one process it is exact; other
processes' counts reach it within about a second.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.core.cache import caches

from caching.generations import SHARED_ALIAS

logger = logging.getLogger("autom8.cache")

HITS_KEY = "cache:stats:hits"
MISSES_KEY = "cache:stats:misses"
FLUSH_SECONDS = 1.0


class _Pending:
    """This process's counts not yet added to the shared counters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.hits = 0
        self.misses = 0
        self.flusher: threading.Thread | None = None


_pending = _Pending()


def count_lookup(*, hit: bool) -> None:
    """Count one page-cache lookup as a hit or a miss."""
    with _pending.lock:
        if _pending.pid != os.getpid():  # a forked child starts from zero
            _pending.pid, _pending.hits, _pending.misses = os.getpid(), 0, 0
            _pending.flusher = None
        if hit:
            _pending.hits += 1
        else:
            _pending.misses += 1
        if _pending.flusher is None:
            _pending.flusher = threading.Thread(
                target=_flush_forever, name="autom8-cache-stats", daemon=True
            )
            _pending.flusher.start()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        flush_counts()


def flush_counts() -> None:
    """Add this process's pending counts to the shared counters."""
    # Held while writing, so a reader never sees counts in neither place.
    with _pending.lock:
        hits, misses = _pending.hits, _pending.misses
        if not (hits or misses):
            return
        _pending.hits = _pending.misses = 0
        cache = caches[SHARED_ALIAS]
        try:
            _add(cache, HITS_KEY, hits)
            _add(cache, MISSES_KEY, misses)
        except Exception as exc:  # noqa: BLE001 - counts are metrics, never errors
            logger.warning("Page cache: hit and miss counts lost (%s)", exc)


def shared_counts() -> dict[str, int]:
    """The shared counters as they stand."""
    found = caches[SHARED_ALIAS].get_many([HITS_KEY, MISSES_KEY])
    return {
        "hits": int(found.get(HITS_KEY) or 0),
        "misses": int(found.get(MISSES_KEY) or 0),
    }


def _add(cache, key: str, amount: int) -> None:
    if not amount:
        return
    try:
        cache.incr(key, amount)
    except ValueError:  # first count: create it, or count on a racing creator's
        if not cache.add(key, amount, timeout=None):
            cache.incr(key, amount)


atexit.register(flush_counts)
