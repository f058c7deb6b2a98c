"""The ``X-Autom8-Integrity`` response signature: build it and check it.

The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + body)>``,
the scheme Stripe uses for webhooks: the timestamp is signed with the body,
so a client can refuse stale replays (``max_age``) as well as altered
bodies. Clients holding ``RESPONSE_SIGNING_KEY`` can import this module as
is; it needs nothing but the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

HEADER = "X-Autom8-Integrity"
SCHEME = "v1"


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def signer(key: str | bytes, t: int) -> hmac.HMAC:
    """An HMAC already fed with ``"<t>."``; feed it the body in chunks."""
    mac = hmac.new(_key_bytes(key), digestmod=hashlib.sha256)
    mac.update(f"{int(t)}.".encode())
    return mac


def sign(body: bytes, key: str | bytes, t: int) -> str:
    """The hex HMAC-SHA256 of ``"<t>." + body``."""
    mac = signer(key, t)
    mac.update(body)
    return mac.hexdigest()


def sign_chunks(chunks: Iterable[bytes], key: str | bytes, t: int) -> str:
    """Like ``sign`` for a body given in pieces."""
    mac = signer(key, t)
    for chunk in chunks:
        mac.update(chunk)
    return mac.hexdigest()


def header_value(t: int, signature: str) -> str:
    """The header's text: ``t=<t>,v1=<signature>``."""
    return f"t={int(t)},{SCHEME}={signature}"


def parse_header(value: str) -> tuple[int, str] | None:
    """``(t, signature)`` from a header value, or None when malformed."""
    fields = {}
    for part in value.split(","):
        name, sep, field = part.strip().partition("=")
        if not sep or name in fields:
            return None
        fields[name] = field
    if set(fields) != {"t", SCHEME} or not fields["t"].isdigit():
        return None
    return int(fields["t"]), fields[SCHEME]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for candidate, field in headers.items():
        if candidate.lower() == lowered:
            return field
    return None


def verify_integrity(
    headers: Mapping[str, str],
    body: bytes,
    key: str | bytes,
    *,
    max_age: int | None = None,
    now: float | None = None,
) -> bool:
    """True when ``headers`` carry a valid signature of ``body`` under ``key``.

    ``max_age`` (seconds) also refuses signatures older than that, or dated
    more than ``max_age`` in the future; ``now`` defaults to the clock.
    """
    value = _header(headers, HEADER)
    parsed = parse_header(value) if value else None
    if parsed is None:
        return False
    t, signature = parsed
    if max_age is not None:
        current = time.time() if now is None else now
        if abs(current - t) > max_age:
            return False
    return hmac.compare_digest(sign(body, key, t), signature)
