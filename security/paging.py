"""Signed listing cursors and the next page's URL, shared by every listing.

A cursor is an opaque, signed position (``django.core.signing`` with
``SECRET_KEY`` and a salt per listing), so a client cannot forge one that
reads rows out of order; the ``Link: rel="next"`` URL carries it.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest

from contract.errors import cursor_invalid, limit_invalid, offset_invalid
from contract.text import has_control_characters

CURSOR_MAX_LENGTH = 512
CURSOR_VERSION = 1


def page_window_check(*, limit: int, offset: int, max_limit: int) -> None:
    """Raises Invalid naming ``limit`` or ``offset`` when out of range."""
    if not 1 <= limit <= max_limit:
        raise limit_invalid(max_limit)
    if offset < 0:
        raise offset_invalid()


def cursor_sign(payload: dict, *, salt: str) -> str:
    """An opaque cursor holding ``payload`` (JSON values), signed for ``salt``."""
    return signing.dumps({**payload, "v": CURSOR_VERSION}, salt=salt)


def cursor_read(raw: str, *, salt: str) -> dict:
    """The payload of a cursor signed for ``salt``.

    Raises Invalid naming ``cursor`` when it was not issued by this server
    for this listing (tampered, truncated, foreign, another version).
    """
    if len(raw) > CURSOR_MAX_LENGTH or has_control_characters(raw):
        raise cursor_invalid()
    try:
        data = signing.loads(raw, salt=salt)
    except (signing.BadSignature, ValueError, UnicodeError) as exc:
        raise cursor_invalid() from exc
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        raise cursor_invalid()
    return data


def next_page_url(request: HttpRequest, next_cursor: str | None) -> str | None:
    """The absolute URL of the next page: this request's query with the
    cursor instead of any offset; None when there is no next page."""
    if next_cursor is None:
        return None
    query = request.GET.copy()
    query.pop("offset", None)
    query["cursor"] = next_cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def next_page_headers(url: str | None) -> dict[str, str]:
    """The ``Link: <url>; rel="next"`` header, or none on the last page."""
    return {"Link": f'<{url}>; rel="next"'} if url else {}
