"""Error text safe to store in a task log, show in the API and send by email."""

from __future__ import annotations

import re

from django.db import DatabaseError

MAX_ERROR_LENGTH = 200

_CREDENTIAL_URL = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@]+@", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"\b(password|passwd|pwd|secret|token|api[_-]?key|key|authorization)\b(\s*[=:]\s*)"
    r"(\"[^\"]*\"|'[^']*'|\S+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\bBearer\s+\S+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.:/])(?:~|[A-Za-z]:)?(?:[/\\][\w.@+-]+){2,}[/\\]?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d[\d\s-]{6,}\d")
_LONG_TOKEN = re.compile(r"\b[A-Za-z0-9_\-+/=]{32,}\b")
_SPACES = re.compile(r"\s+")


def error_sanitise(exc: BaseException) -> str:
    """A short one-line description of ``exc``: no paths, SQL, secrets or PII.

    Database errors keep only their class name, because their text quotes
    SQL and parameters.
    """
    kind = type(exc).__name__
    if isinstance(exc, DatabaseError):
        return f"{kind}: database error"
    return text_sanitise(f"{kind}: {exc}" if str(exc) else kind)


def text_sanitise(text: str) -> str:
    """``text`` on one line, shortened, with paths, secrets and PII masked."""
    text = _CREDENTIAL_URL.sub(r"\1***@", text)
    text = _BEARER.sub("Bearer ***", text)
    text = _SECRET_PAIR.sub(r"\1\2***", text)
    text = _EMAIL.sub("<email>", text)
    text = _PATH.sub("<path>", text)
    text = _PHONE.sub("<phone>", text)
    text = _LONG_TOKEN.sub("***", text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 3].rstrip() + "..."
    return text
