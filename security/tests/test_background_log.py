"""The access log is written by a thread of its own, fields and request id intact."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time

import pytest
from rest_framework.test import APIClient

from security.logging import (
    BackgroundHandler,
    JsonFormatter,
    RedactPIIFilter,
    RequestIdFilter,
    request_id_var,
)


class BlockingStream(io.StringIO):
    """A stream whose writes wait until ``release`` is set (a full pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.release.wait(timeout=10)
        return super().write(text)


def _handler(stream) -> BackgroundHandler:
    handler = BackgroundHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactPIIFilter())
    return handler


def _logger(handler: BackgroundHandler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def test_a_stalled_stream_does_not_hold_up_the_caller():
    stream = BlockingStream()
    handler = _handler(stream)
    logger = _logger(handler, "autom8.test.stalled")

    started = time.monotonic()
    logger.info("GET /api/v1/health 200")
    elapsed = time.monotonic() - started
    stream.release.set()
    handler.close()
    logger.removeHandler(handler)

    assert elapsed < 1
    assert json.loads(stream.getvalue())["message"] == "GET /api/v1/health 200"


def test_the_line_carries_the_request_id_of_the_logging_thread():
    stream = io.StringIO()
    handler = _handler(stream)
    logger = _logger(handler, "autom8.test.request_id")

    context = request_id_var.set("trace-42")
    try:
        logger.info("one line", extra={"status_code": 200})
    finally:
        request_id_var.reset(context)
    handler.close()
    logger.removeHandler(handler)

    line = json.loads(stream.getvalue())
    assert (line["request_id"], line["status_code"]) == ("trace-42", 200)


def test_personal_data_is_masked_before_the_line_is_queued():
    stream = io.StringIO()
    handler = _handler(stream)
    logger = _logger(handler, "autom8.test.redacted")

    logger.info("user %s", "amina@example.com")
    handler.close()
    logger.removeHandler(handler)

    assert json.loads(stream.getvalue())["message"] == "user [EMAIL]"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_lines(tmp_path):
    path = tmp_path / "child.log"
    with path.open("w") as stream:
        handler = _handler(stream)
        logger = _logger(handler, "autom8.test.fork")
        pid = os.fork()
        if pid == 0:  # the child: its writer thread was started after fork
            logger.info("from the child")
            handler.close()
            os._exit(0)
        os.waitpid(pid, 0)
        handler.close()
        logger.removeHandler(handler)

    assert json.loads(path.read_text())["message"] == "from the child"


@pytest.mark.django_db
def test_the_configured_access_log_writes_the_request_line():
    [handler] = [
        h
        for h in logging.getLogger("autom8.request").handlers
        if isinstance(h, BackgroundHandler)
    ]
    handler.flush()  # lines of earlier tests go to the old stream
    stream = io.StringIO()
    previous = handler.target.setStream(stream)
    try:
        response = APIClient().get("/api/v1/health", HTTP_X_REQUEST_ID="trace-7")
        handler.flush()
    finally:
        handler.target.setStream(previous)

    line = json.loads(stream.getvalue())
    assert (line["request_id"], line["path"], line["status_code"]) == (
        response["X-Request-ID"],
        "/api/v1/health",
        200,
    )
