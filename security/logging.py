"""JSON log lines carrying the request id, with personal data redacted.

Every line is one JSON object: ``timestamp``, ``level``, ``module`` (the
logger name), ``message``, ``request_id`` and any ``extra`` fields.
``RedactPIIFilter`` removes phone numbers, email addresses, passwords and
tokens from messages and extra fields before any handler writes them;
``JsonFormatter`` does the same for formatted tracebacks.
``BackgroundHandler`` writes the access log from a thread of its own, so a
slow or full stderr pipe never holds up a response.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import logging
import os
import queue
import re
import time
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener

import phonenumbers
from django.conf import settings
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
        "route",
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
# Every repetition below is bounded (RFC 3986 schemes, RFC 5321 addresses),
# so a long run without a match costs linear time, not quadratic.
_CREDENTIAL_URL = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]{0,31}://)[^\s/@]{1,256}@")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(\"?'?\b(?:password|passwd|pwd|secret|api[_-]?key|key|refresh|token)\b"
    r"\"?'?"
    r"\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
)
# "%40" is an "@" in a logged query string.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}(?:@|%40)"
    r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"
)
# Phone-like runs: an optional +, then groups of digits (a group may sit in
# brackets) joined by one space, dot or dash, or by nothing right after a
# closing bracket; two digit runs are never joined by nothing, which would
# let the engine try every split of a long run of digits (exponential
# backtracking on e.g. "1111111111111111111111a"). A run may follow a
# "/" (a phone number as a path segment) or "%2B" (an encoded "+"), but not
# a word character, dot, colon or dash: ids, versions and times are no
# candidates. A candidate is masked group by group (``_phone``), so the
# text after a number ("... 404") is kept.
_PHONE = re.compile(
    r"(?:(?<=%2B)|(?<=%2b)|(?<![\w.:-]))"
    r"\+?\(?\d+\)?(?:(?:[ .-]|(?<=\)))\(?\d+\)?)*(?![\w:])"
)
_PHONE_GROUP = re.compile(r"[ .-]?\(?\d+\)?")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
# A number no phone numbering plan accepts is still masked when it has this
# many digits: a national number of an unknown region looks like this.
_MIN_DIGITS = {True: 8, False: 9}
_MAX_DIGITS = 15
# Most digits of one group in a national number written in groups.
_SHORT_GROUP = 4
# Most groups of one written number ("+1 (415) 555-2671" has four).
_MAX_GROUPS = 6


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _is_phone(groups: list[str], *, international: bool) -> bool:
    """True when some numbering plan accepts ``groups`` as one valid number."""
    digits = "".join(ch for ch in "".join(groups) if ch.isdigit())
    candidates = [(f"+{digits}", None)]
    region = _default_region()
    if region and not international:
        candidates.append((digits, region))
    for number, region_code in candidates:
        try:
            parsed = phonenumbers.parse(number, region_code)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return True
    return False


def _default_region() -> str | None:
    # Logging may run before the settings are (a server's master process).
    return settings.DEFAULT_PHONE_REGION if settings.configured else None


def _phone_groups(groups: list[str], counts: list[int], *, international: bool) -> int:
    """How many leading ``groups`` form the phone number; 0 when none does.

    ``counts`` are the groups' digit counts. The longest run a numbering
    plan accepts wins. Failing that (a national number of an unknown
    region), one long group, or a run of short groups as people write them
    ("0712 345 678"), long enough to be a number.
    """
    shortest = _MIN_DIGITS[international]
    for count in range(len(groups), 0, -1):
        if shortest <= sum(counts[:count]) <= _MAX_DIGITS and _is_phone(
            groups[:count], international=international
        ):
            return count
    total = 0
    for count, digits in enumerate(counts, start=1):
        if count > 1 and max(counts[:count]) > _SHORT_GROUP:
            return 0
        total += digits
        if total >= shortest:
            return count if total <= _MAX_DIGITS else 0
    return 0


def _phone(match: re.Match) -> str:
    text = match.group(0)
    if _DATE_LIKE.search(text) or _IPV4.fullmatch(text):
        return text
    international = text.startswith("+")
    groups = _PHONE_GROUP.findall(text[1:] if international else text)
    counts = [_digits(group) for group in groups]
    # Left to right: a number starting at this group is masked, else the
    # group is kept and the next one tried. A bounded window keeps the work
    # linear in the length of the run.
    out: list[str] = []
    index = 0
    while index < len(groups):
        plus = international and index == 0
        end = index + _MAX_GROUPS
        count = _phone_groups(groups[index:end], counts[index:end], international=plus)
        if count:
            separator = groups[index][0] if groups[index][0] in " .-" else ""
            out.append(separator + PHONE_MARK)
            index += count
        else:
            out.append(("+" if plus else "") + groups[index])
            index += 1
    return "".join(out)


# Short texts recur on every request (an access line's method, path, route,
# message): their redaction is remembered, longer ones are always worked out.
_REMEMBERED_LENGTH = 160


def redact(text: str) -> str:
    """``text`` with emails, phone numbers, passwords and tokens masked.

    The one redactor of the project: log lines and stored task errors
    (``tasks.services.sanitize``) both go through it.
    """
    if len(text) <= _REMEMBERED_LENGTH:
        return _redact_short(text, _default_region())
    return _redact(text)


@functools.lru_cache(maxsize=2048)
def _redact_short(text: str, region: str | None) -> str:
    # ``region`` is part of the key: national numbers are read in it.
    return _redact(text)


def _redact(text: str) -> str:
    text = _JWT.sub(TOKEN_MARK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {TOKEN_MARK}", text)
    text = _CREDENTIAL_URL.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
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


class OneLineWarningFilter(logging.Filter):
    """Turns a record into a single WARNING line: no traceback, no stack.

    For expected bad input (a forged ``Host`` header): a line per request is
    useful, a traceback at ERROR per request only buries real errors.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno = logging.WARNING
        record.levelname = logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


class BatchingQueueListener(QueueListener):
    """A listener that lets lines gather before it wakes up to write them.

    Woken for every line, the writer thread would take the GIL from the
    request threads once per request; resting ``BATCH_SECONDS`` whenever
    the queue runs dry lets it write many lines per wake-up instead.
    """

    BATCH_SECONDS = 0.05

    def dequeue(self, block: bool) -> logging.LogRecord:
        """The next record; when there is none yet, rest before waiting."""
        if self.queue.empty():
            time.sleep(self.BATCH_SECONDS)
        return self.queue.get(block)


class BackgroundHandler(QueueHandler):
    """Queues records for a thread that formats and writes them to a stream.

    Filters (request id, redaction) run in the logging thread, where the
    request's context is; formatting and the write happen in the writer
    thread. A forked child starts a writer of its own (threads do not
    survive ``fork``). ``close()``, which ``logging.shutdown`` calls at
    exit, writes what is still queued; a killed process loses it.
    """

    def __init__(self, stream=None) -> None:
        # Made before the queue handler, so logging.shutdown (which goes
        # through handlers newest first) drains the queue before the
        # target is flushed.
        self.target = logging.StreamHandler(stream)
        super().__init__(queue.Queue())
        self._closed = False
        self._start()
        os.register_at_fork(after_in_child=self._restart_in_child)

    def _start(self) -> None:
        self.listener = BatchingQueueListener(self.queue, self.target)
        self.listener.start()

    def _restart_in_child(self) -> None:
        if self._closed:
            return
        # The parent's writer thread and whatever it had queued stay behind.
        self.queue = queue.Queue()
        self._start()

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """Formats in the writer thread: the formatter goes to the target."""
        self.target.setFormatter(fmt)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy whose message no longer depends on mutable arguments."""
        record = copy.copy(record)
        if record.args and not isinstance(record.msg, dict):
            record.msg = record.getMessage()
            record.args = None
        return record

    def flush(self, timeout: float = 1.0) -> None:
        """Wait, up to ``timeout`` seconds, until every queued line is written."""
        deadline = time.monotonic() + timeout
        while (
            not self._closed
            and self.queue.unfinished_tasks
            and time.monotonic() < deadline
        ):
            time.sleep(0.001)
        self.target.flush()

    def close(self) -> None:
        """Write what is queued, stop the writer thread, close the target."""
        if not self._closed:
            self._closed = True
            self.listener.stop()
            self.target.close()
        super().close()
