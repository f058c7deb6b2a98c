"""JSON log lines carrying the request id, with personal data redacted.

Every line is one JSON object: ``timestamp``, ``level``, ``module`` (the
logger name), ``message``, ``request_id`` and any ``extra`` fields.
``RedactPIIFilter`` removes phone numbers, email addresses, passwords and
tokens from messages and extra fields before any handler writes them;
``JsonFormatter`` does the same for formatted tracebacks.
"""

from __future__ import annotations

import contextvars
import logging
import re
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "autom8_request_id", default=None
)

REDACTED = "[REDACTED]"
EMAIL_MARK = "[EMAIL]"
PHONE_MARK = "[PHONE]"
TOKEN_MARK = "[TOKEN]"  # noqa: S105  # nosec B105  # a placeholder, not a secret

# Extra fields whose whole value is sensitive, matched as substrings of the
# lower-cased field name.
SENSITIVE_FIELDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "phone",
    "email",
    "api_key",
    "apikey",
    "refresh",
    "signature",
)
# Fields the project writes itself and that hold no personal data; they are
# left alone so that ids and timings survive the phone pattern.
SAFE_FIELDS = frozenset(
    {
        "request_id",
        "method",
        "status_code",
        "duration_ms",
        "timestamp",
        "level",
        "module",
        "task_log_id",
        "task_type",
        "job_id",
    }
)
# Attributes every LogRecord has; not ``extra`` fields.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
}

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(\"?'?\b(?:password|passwd|pwd|secret|api[_-]?key|refresh|token)\b\"?'?"
    r"\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
)
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)
# Phone-like runs: an optional +, then digits with spaces, dots, dashes or
# brackets between them, judged by their digit count below. Runs inside
# words, paths, ids and times ("/contacts/42", "10:00:00.123456") are not
# candidates.
_PHONE = re.compile(r"(?<![\w./-])\+?\(?\d[\d ().-]{5,22}\d(?![\w:])")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _phone(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    international = text.startswith("+")
    if (
        _DATE_LIKE.search(text)
        or _IPV4.fullmatch(text)
        or digits > 15
        or digits < (8 if international else 9)
    ):
        return text
    return PHONE_MARK


def redact(text: str) -> str:
    """``text`` with emails, phone numbers, passwords and tokens masked."""
    text = _JWT.sub(TOKEN_MARK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {TOKEN_MARK}", text)
    text = _SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _EMAIL.sub(EMAIL_MARK, text)
    return _PHONE.sub(_phone, text)


def redact_value(value: object) -> object:
    """``value`` with every string inside it redacted (dicts, lists, tuples)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_field(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item) for item in value)
    return value


def redact_field(name: str, value: object) -> object:
    """A field's value as it may be logged, judged by its name and content."""
    if value is None or isinstance(value, bool | int | float):
        return value
    lowered = name.lower()
    if lowered in SAFE_FIELDS:
        return value
    if any(marker in lowered for marker in SENSITIVE_FIELDS):
        return REDACTED
    return redact_value(value)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (or None).

    Django logs some lines (``django.request``) after the middleware has
    finished; those carry the request itself, which holds the id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request = getattr(record, "request", None)
            record.request_id = request_id_var.get() or getattr(
                request, "request_id", None
            )
        return True


class RedactPIIFilter(logging.Filter):
    """Masks personal data and secrets in the message and the extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):
            record.msg = redact_value(record.msg)
        else:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string still gets logged
                message = str(record.msg)
            record.msg = redact(message)
            record.args = None
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, redact_field(name, value))
        return True


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: timestamp, level, module, message, request_id."""

    def add_fields(
        self, log_record: dict, record: logging.LogRecord, message_dict: dict
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["timestamp"] = (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat()
            .replace("+00:00", "Z")
        )
        log_record["level"] = record.levelname
        log_record["module"] = record.name
        log_record.setdefault("request_id", getattr(record, "request_id", None))

    def formatException(self, ei) -> str:
        """The traceback, redacted: exception messages may quote input."""
        return redact(super().formatException(ei))

    def formatStack(self, stack_info) -> str:
        """The stack, redacted."""
        return redact(super().formatStack(stack_info))
