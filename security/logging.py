"""JSON log lines carrying the request id of the request being served."""

from __future__ import annotations

import contextvars
import logging
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "autom8_request_id", default=None
)


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: timestamp, level, module, message, request_id."""

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["timestamp"] = (
            datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z")
        )
        log_record["level"] = record.levelname
        log_record["module"] = record.name
        log_record.setdefault("request_id", getattr(record, "request_id", None))
