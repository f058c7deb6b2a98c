"""Oversized or malformed requests get the envelope with the §1 headers.

gunicorn runs with the options of ``make run`` (``gunicorn_command``), whose
limits sit above the application's: an oversized request line (414) or header
(431) is refused by the application. What gunicorn refuses itself (bytes it
cannot parse, sizes over its own limits) is answered in the same shape by
``security.server_errors``, not by gunicorn's HTML page. Raw sockets, since
HTTP clients refuse to send such requests.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from autom8_site.launch import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_LINE
from security.integrity import verify_integrity
from security.limits import MAX_HEADER_FIELD, MAX_HEADER_FIELDS, MAX_REQUEST_LINE
from tests.servers import gunicorn_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECURITY_HEADERS = (
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
    "permissions-policy",
    "x-request-id",
    "x-autom8-integrity",
    "x-response-time",
)


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    """(host, port) of a gunicorn started like ``make run`` starts it."""
    with gunicorn_server(workers=1, threads=2) as base:
        parts = urlsplit(base)
        yield parts.hostname, parts.port


def raw_request(address: tuple[str, int], head: bytes) -> tuple[int, dict, bytes]:
    """Send ``head`` (request line and headers) and read the whole answer."""
    with socket.create_connection(address, timeout=20) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n")
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    raw_head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunked(body)
    return int(status_line.split()[1]), headers, body


def _dechunked(data: bytes) -> bytes:
    body = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return body
        body, data = body + data[:size], data[size + 2 :]


def _get(path: str, *headers: bytes) -> bytes:
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(lines) + b"\r\n"


LONG_LINE = _get("/api/v1/info?q=" + "a" * (MAX_REQUEST_LINE + 100))
LONG_HEADER = _get("/api/v1/info", b"X-Long: " + b"b" * (MAX_HEADER_FIELD + 100))
MANY_HEADERS = _get(
    "/api/v1/info", *(f"X-H{i}: v".encode() for i in range(MAX_HEADER_FIELDS + 5))
)
# Refused by gunicorn itself.
BAD_HEADER_NAME = _get("/api/v1/info", b"Bad Header: x")
BAD_HEADER_VALUE = _get("/api/v1/info", b"X-Bad: a\x00b")
OVER_SERVER_LINE = _get("/api/v1/info?q=" + "a" * (LIMIT_REQUEST_LINE + 100))
OVER_SERVER_HEADER = _get(
    "/api/v1/info", b"X-Long: " + b"b" * (LIMIT_REQUEST_FIELD_SIZE + 100)
)


@pytest.mark.parametrize(
    ("head", "status", "phrase"),
    [
        (LONG_LINE, 414, "URI Too Long"),
        (LONG_HEADER, 431, "Request Header Fields Too Large"),
        (MANY_HEADERS, 431, "Request Header Fields Too Large"),
        (BAD_HEADER_NAME, 400, "Bad Request"),
        (BAD_HEADER_VALUE, 400, "Bad Request"),
        (OVER_SERVER_LINE, 414, "URI Too Long"),
        (OVER_SERVER_HEADER, 431, "Request Header Fields Too Large"),
    ],
    ids=[
        "long request line",
        "long header",
        "many headers",
        "bad header name",
        "bad header value",
        "over the server's line limit",
        "over the server's header limit",
    ],
)
class TestOversized:
    def test_is_refused_with_the_envelope(self, address, head, status, phrase):
        code, headers, body = raw_request(address, head)

        assert code == status, body[:200]
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"] == phrase

    def test_carries_every_section_1_header(self, address, head, status, phrase):
        _, headers, _ = raw_request(address, head)

        assert not [name for name in SECURITY_HEADERS if name not in headers]

    def test_its_body_is_signed(self, address, head, status, phrase):
        _, headers, body = raw_request(address, head)

        assert verify_integrity(
            {"X-Autom8-Integrity": headers["x-autom8-integrity"]},
            body,
            settings.RESPONSE_SIGNING_KEY,
        )


def test_a_request_within_the_limits_is_served(address):
    head = _get(
        "/api/v1/info?q=" + "a" * (MAX_REQUEST_LINE - 100),
        b"X-Long: " + b"b" * (MAX_HEADER_FIELD - 100),
    )

    code, _, body = raw_request(address, head)

    assert code == 200, body[:200]
