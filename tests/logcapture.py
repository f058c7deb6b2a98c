"""Capture log lines exactly as the project writes them (JSON, redacted)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from security.logging import JsonFormatter, RedactPIIFilter, RequestIdFilter

# Loggers that do not propagate to the root logger.
_ISOLATED = ("django", "django.request", "autom8.request")


class JsonLines:
    """The JSON lines written while capturing, parsed on demand."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        """Everything written, raw."""
        return self._stream.getvalue()

    def records(self, module: str | None = None) -> list[dict]:
        """Every line as a dict; only those of logger ``module`` when given."""
        lines = [json.loads(line) for line in self.text.splitlines() if line.strip()]
        return [line for line in lines if module is None or line["module"] == module]


@contextmanager
def json_logs(level: int = logging.INFO) -> Iterator[JsonLines]:
    """A handler configured like the console handler, on every logger that matters."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactPIIFilter())
    handler.setLevel(level)
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in _ISOLATED)]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield JsonLines(stream)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
