"""The outermost middleware: every response is timed, identified, signed and hardened.

For each request ``ResponseEnvelopeMiddleware``:

* takes a well-formed incoming ``X-Request-ID`` (1-128 characters of
  ``A-Z a-z 0-9 . _ -``) or makes a UUID4, stores it on the request and in
  ``security.logging.request_id_var`` so every log line carries it;
* answers 400 at once when the path or query string holds a NUL byte
  (PostgreSQL cannot store one, and no valid request needs it), 414 or 431
  when the request line or a header is over ``security.limits``;
* answers 413 when a view reads a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``;
* reads each cache generation once per request
  (``security.cache.generations.per_request``);
* turns any exception a view raises into the bare 500 envelope, logged with
  the request id (also under ``DEBUG``: no traceback page), except an
  unreachable database: 503 with ``Retry-After`` and one warning line;
* rewrites error responses that are not JSON (Django's 405 for plain views,
  a CSRF failure, a static file's 405) into the §1 envelope, rendered like
  DRF renders it (``security.exceptions.json_error_response``);
* adds the §1 headers: security headers, HSTS over HTTPS only, the
  rate-limit headers a throttle recorded, ``X-Request-ID``,
  ``X-Autom8-Integrity`` and ``X-Response-Time``;
* counts the request in the metrics (``security.metrics``) and writes one
  JSON access line to the ``autom8.request`` logger: a warning for a 5xx
  or a request slower than ``SLOW_REQUEST_MS``, so both reach the error log.

Signing streamed bodies: a ``FileResponse`` over a seekable file (WhiteNoise
static files, whatever their size) is hashed by reading the file once and
seeking back, so nothing is held in memory and ``sendfile`` still works.
Any other streamed body (a byte range of a static file, a generator) is
read into memory, signed and sent from there; Autom8 streams nothing large
that is not a file.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote_to_bytes

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError

from security.cache.generations import per_request as generations_per_request
from security.exceptions import (
    KEEP_BODY_ATTRIBUTE,
    database_unavailable,
    default_message,
    json_error_response,
    mark_logged,
)
from security.integrity import HEADER as INTEGRITY_HEADER
from security.integrity import header_value, sign, sign_chunks
from security.limits import oversized_request
from security.logging import request_id_var
from security.metrics import request_endpoint, request_record
from security.throttling import rate_limit_state

access_logger = logging.getLogger("autom8.request")
error_logger = logging.getLogger("autom8.errors")

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")
NUL_PATH_MESSAGE = "The request path must not contain NUL bytes"
NUL_FIELD_MESSAGE = "must not contain NUL bytes"
HSTS_DEFAULT_SECONDS = 31536000
_FILE_CHUNK = 64 * 1024
# Exceptions Django itself turns into 4xx answers (handler400/403/404).
_CLIENT_ERRORS = (
    Http404,
    PermissionDenied,
    BadRequest,
    SuspiciousOperation,
    MultiPartParserError,
)
# Headers of a replaced non-JSON error response that describe the body.
_BODY_HEADERS = {
    "content-type",
    "content-length",
    "content-encoding",
    "content-disposition",
}


def request_id_from(value: str | None) -> str:
    """``value`` when it is a well-formed request id, else a new UUID4."""
    if value and REQUEST_ID_PATTERN.fullmatch(value):
        return value
    return str(uuid.uuid4())


def nul_error(request: HttpRequest) -> HttpResponse | None:
    """The 400 answer when the path or query string holds a NUL byte, else None.

    A query parameter holding one is named in ``message`` and ``details``.
    """
    if "\x00" in request.path_info:
        return json_error_response(400, NUL_PATH_MESSAGE)
    query = request.META.get("QUERY_STRING", "")
    if b"\x00" not in unquote_to_bytes(query):
        return None
    fields = sorted(
        {
            name if "\x00" not in name else "query"
            for name, value in parse_qsl(query, keep_blank_values=True)
            if "\x00" in name or "\x00" in value
        }
    ) or ["query"]
    details = {field: [NUL_FIELD_MESSAGE] for field in fields}
    return json_error_response(400, f"{fields[0]}: {NUL_FIELD_MESSAGE}", details)


class ResponseEnvelopeMiddleware:
    """Times, identifies, signs and hardens every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        context = request_id_var.set(request_id)
        try:
            response = oversized_request(request) or nul_error(request)
            if response is None:
                with generations_per_request():
                    response = self.get_response(request)
            response = _as_envelope(response)
            _harden(request, response)
            _add_rate_limit_headers(request, response)
            response[REQUEST_ID_HEADER] = request_id
            _sign(response)
            _drop_body_of_head(request, response)
            elapsed_ms = (time.perf_counter() - started) * 1000
            response["X-Response-Time"] = f"{elapsed_ms:.2f}ms"
            request_record(
                request=request, status=response.status_code, elapsed_ms=elapsed_ms
            )
            _log_access(request, response, elapsed_ms, request_id)
            return response
        finally:
            request_id_var.reset(context)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        """A bare 500 envelope for an unexpected view error, logged with its id."""
        if isinstance(exception, RequestDataTooBig):
            return json_error_response(413, default_message(413))
        if isinstance(exception, _CLIENT_ERRORS):
            return None
        unavailable = database_unavailable(request, exception)
        if unavailable is not None:
            return unavailable
        error_logger.error(
            "Unhandled error in %s %s",
            request.method,
            request.path,
            exc_info=(type(exception), exception, exception.__traceback__),
        )
        response = json_error_response(500, "Internal Server Error")
        mark_logged(response)
        return response


def _is_json(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().endswith("json")


def _as_envelope(response: HttpResponseBase) -> HttpResponseBase:
    if response.status_code < 400 or _is_json(response):
        return response
    if getattr(response, KEEP_BODY_ATTRIBUTE, False):
        return response
    status = response.status_code
    replacement = json_error_response(status, default_message(status))
    for name, value in response.items():
        if name.lower() not in _BODY_HEADERS:
            replacement[name] = value
    replacement.cookies = response.cookies
    if response.streaming:
        # Only a streamed body holds a resource (an open file). close() also
        # sends request_finished, which would close the database connection
        # in the middle of the request, so in-memory bodies are left alone.
        response.close()
    return replacement


def _harden(request: HttpRequest, response: HttpResponseBase) -> None:
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Frame-Options"] = "DENY"
    response["Referrer-Policy"] = "same-origin"
    response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
    response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
    if not request.is_secure():
        # HSTS over plain HTTP is ignored by browsers and misleading.
        if response.has_header("Strict-Transport-Security"):
            del response["Strict-Transport-Security"]
        return
    if not response.has_header("Strict-Transport-Security"):
        seconds = settings.SECURE_HSTS_SECONDS or HSTS_DEFAULT_SECONDS
        value = f"max-age={seconds}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        response["Strict-Transport-Security"] = value


def _add_rate_limit_headers(request: HttpRequest, response: HttpResponseBase) -> None:
    state = rate_limit_state(request)
    if state is None:
        return
    for name, value in state.headers(now=time.time()).items():
        response[name] = value


def _seekable(file) -> bool:
    try:
        return bool(file.seekable()) and callable(file.tell)
    except (AttributeError, OSError, ValueError):
        return False


def _sign(response: HttpResponseBase) -> None:
    key = settings.RESPONSE_SIGNING_KEY
    t = int(time.time())
    if not response.streaming:
        signature = sign(response.content, key, t)
    elif _seekable(file := getattr(response, "file_to_stream", None)):
        start = file.tell()
        try:
            signature = sign_chunks(iter(lambda: file.read(_FILE_CHUNK), b""), key, t)
        finally:
            file.seek(start)
    else:
        body = b"".join(response.streaming_content)
        response.streaming_content = [body]
        signature = sign(body, key, t)
    response[INTEGRITY_HEADER] = header_value(t, signature)


def _drop_body_of_head(request: HttpRequest, response: HttpResponseBase) -> None:
    """A HEAD answer keeps GET's headers (length, signature) but sends no body.

    Django's WSGI handler sends the body even for HEAD (only runserver and
    the test client drop it); gunicorn then drops it itself and logs a
    warning per request (RFC 9110 §9.3.2: no content in a HEAD response).
    """
    if request.method != "HEAD":
        return
    if not response.streaming:
        response.setdefault("Content-Length", str(len(response.content)))
        response.content = b""
        return
    # A file handed to the server's sendfile would still be sent; it stays
    # among the response's resources, so closing the response closes it.
    if getattr(response, "file_to_stream", None) is not None:
        response.file_to_stream = None
    response.streaming_content = []


def _username(request: HttpRequest) -> str | None:
    try:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user.get_username()
    except Exception:  # noqa: BLE001 - e.g. the session store is down
        return None
    return None


def _log_access(
    request: HttpRequest, response: HttpResponseBase, elapsed_ms: float, request_id: str
) -> None:
    # A 5xx already has its error line (with the traceback); its access line
    # is a warning, so the error log also holds its route and duration.
    slow = elapsed_ms > settings.SLOW_REQUEST_MS
    level = logging.WARNING if response.status_code >= 500 or slow else logging.INFO
    access_logger.log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "route": request_endpoint(request).split(" ", 1)[1],
            "status_code": response.status_code,
            "duration_ms": round(elapsed_ms, 2),
            "user": _username(request),
            "request_id": request_id,
        },
    )


class _UnparsedRequest:
    """Stands for a request the server could not parse: nothing is known of it."""

    def is_secure(self) -> bool:
        # Without HSTS is the safe side: HSTS is only ever added, never needed.
        return False


def add_section_1_headers(response: HttpResponseBase, *, started: float) -> None:
    """The §1 headers on a response built outside Django's request cycle.

    For the answers a server gives itself (``security.server_errors``): the
    security headers, a new request id, the signature and the time spent
    since ``started`` (``time.perf_counter()``).
    """
    _harden(_UnparsedRequest(), response)
    response[REQUEST_ID_HEADER] = request_id_from(None)
    _sign(response)
    response["X-Response-Time"] = f"{(time.perf_counter() - started) * 1000:.2f}ms"
