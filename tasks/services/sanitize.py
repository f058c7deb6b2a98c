"""Error text safe to store in a task log, show in the API and send by email.

Personal data and secrets are masked by the project's one redactor
(``security.logging.redact``), the same that cleans log lines; this module
adds what a stored error must also lose: file paths, long opaque tokens,
line breaks and excess length.
"""

from __future__ import annotations

import re

from django.db import DatabaseError

from security.logging import REDACTED, redact

MAX_ERROR_LENGTH = 200
# Longer input is cut before cleaning: only the first MAX_ERROR_LENGTH
# characters survive anyway, and the patterns stay cheap on huge messages.
_MAX_INPUT_LENGTH = 10 * MAX_ERROR_LENGTH

_PATH = re.compile(r"(?<![\w.:/])(?:~|[A-Za-z]:)?(?:[/\\][\w.@+-]+){2,}[/\\]?")
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
    text = redact(text[:_MAX_INPUT_LENGTH])
    text = _PATH.sub("<path>", text)
    text = _LONG_TOKEN.sub(REDACTED, text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 3].rstrip() + "..."
    return text
