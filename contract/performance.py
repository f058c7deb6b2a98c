"""Performance routes in the v1 contract (§6): output shapes (pure)."""

from __future__ import annotations

from datetime import datetime

from contract.time import iso_utc

CACHE_CLEARED_MESSAGE = "Cache cleared successfully"


def cache_clear_body(*, cleared_at: datetime) -> dict:
    """``POST /performance/cache/clear``: the message and when it happened."""
    return {"message": CACHE_CLEARED_MESSAGE, "timestamp": iso_utc(cleared_at)}
