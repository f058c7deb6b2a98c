"""One renderer for every error: DRF's handler and Django's error views.

Every error leaves as the §1 envelope built by ``contract.errors.error_body``
and rendered by DRF's ``JSONRenderer`` (compact), whichever layer answers.
Unexpected exceptions are logged here, with the request id, and answered
with a bare 500 that carries no internals. A database that cannot be
reached is not a bug: it is answered 503 with ``Retry-After`` and logged as
one warning line, whichever layer met it (``database_unavailable``).
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Mapping, Sequence

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contract.errors import DEFAULT_MESSAGES, Autom8Error, error_body
from security.throttling import throttles_checked

logger = logging.getLogger("autom8.errors")

RATE_LIMITED_MESSAGE = DEFAULT_MESSAGES[429]
# django-ratelimit's own decorator does not say when its window ends.
RATELIMITED_RETRY_AFTER = "60"
DATABASE_UNAVAILABLE_MESSAGE = (
    "The database is temporarily unavailable. Please try again later."
)
DATABASE_RETRY_AFTER = "5"


def _is_unreachable(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database cannot serve now (not a bug).

    PostgreSQL: an OperationalError (connection refused or timed out, closed
    or terminated backend, shutdown, lock or statement timeout) or an
    InterfaceError (connection already unusable); bad SQL is a
    ProgrammingError. SQLite reports bad SQL as an OperationalError too, with
    the generic SQLITE_ERROR code; the others (CANTOPEN, BUSY, LOCKED, IOERR,
    FULL, ...) say the file cannot be used.
    """
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.__cause__, "sqlite_errorcode", None)
    return code is None or code & 0xFF != sqlite3.SQLITE_ERROR


_DRF_MESSAGES = {
    drf.NotAuthenticated: "Authentication credentials were not provided",
    drf.AuthenticationFailed: "Invalid or expired credentials",
    drf.PermissionDenied: DEFAULT_MESSAGES[403],
    drf.NotFound: DEFAULT_MESSAGES[404],
    drf.ParseError: "Malformed request body: it must be valid JSON",
    drf.UnsupportedMediaType: DEFAULT_MESSAGES[415],
    drf.NotAcceptable: DEFAULT_MESSAGES[406],
}


def mark_logged(response: HttpResponseBase) -> None:
    """Keep Django from logging this response again (traceback already logged)."""
    # django.utils.log.log_response skips responses carrying this flag; without
    # it every 500 would also give a second, traceback-less error line.
    response._has_been_logged = True


KEEP_BODY_ATTRIBUTE = "autom8_keeps_its_body"


def keep_own_body(response: HttpResponseBase) -> HttpResponseBase:
    """Exempt this error page from the JSON envelope (a form a person reads).

    The admin's refused login is a 429 whose body is the login form with
    its message; the §1 headers are still added.
    """
    setattr(response, KEEP_BODY_ATTRIBUTE, True)
    return response


def json_error_response(
    status: int,
    message: str,
    details: Mapping[str, Sequence[str]] | None = None,
) -> HttpResponse:
    """The envelope as a plain Django response, byte for byte as DRF renders it."""
    return HttpResponse(
        JSONRenderer().render(error_body(status, message, details)),
        status=status,
        content_type="application/json",
    )


def database_unavailable(
    request: HttpRequest | None, exc: BaseException | None
) -> HttpResponse | None:
    """The 503 answer when ``exc`` says the database cannot be reached, else None.

    Logged as one warning line with the request id; no traceback, since
    nothing in Autom8 is at fault and an outage would flood the log.
    """
    if not _is_unreachable(exc):
        return None
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    logger.warning(
        "Database unavailable in %s %s: %s",
        getattr(request, "method", "-"),
        getattr(request, "path", "-"),
        reason[:200],
    )
    response = json_error_response(503, DATABASE_UNAVAILABLE_MESSAGE)
    response["Retry-After"] = DATABASE_RETRY_AFTER
    mark_logged(response)
    return response


def default_message(status: int) -> str:
    """A generic ``message`` for an error status when nothing more is known."""
    if status in DEFAULT_MESSAGES:
        return DEFAULT_MESSAGES[status]
    return "Request failed" if status < 500 else "Internal Server Error"


def _field_details(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(field): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            for field, msgs in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {}


def _validation_message(details: dict[str, list[str]]) -> str:
    field, messages = next(iter(details.items()))
    first = messages[0] if messages else "is invalid"
    if field == "non_field_errors":
        return first
    return f"{field}: {first}"


def _drf_body(exc: drf.APIException) -> dict:
    status = exc.status_code
    if isinstance(exc, drf.ValidationError):
        details = _field_details(exc.detail)
        message = _validation_message(details) if details else "Invalid request"
        return error_body(status, message, details)
    if isinstance(exc, drf.MethodNotAllowed):
        return error_body(status, str(exc.detail))
    if isinstance(exc, drf.Throttled):
        return error_body(429, RATE_LIMITED_MESSAGE)
    if (
        isinstance(exc, drf.PermissionDenied)
        and exc.detail != drf.PermissionDenied.default_detail
    ):
        return error_body(status, str(exc.detail))
    for kind, message in _DRF_MESSAGES.items():
        if isinstance(exc, kind):
            return error_body(status, message)
    return error_body(
        status, str(exc.detail) if status < 500 else "Internal Server Error"
    )


def _counted(exc: Exception, context: dict) -> Exception:
    """``exc``, or the view's throttle refusal once the request is counted.

    DRF authenticates and checks permissions before it throttles, so a
    request refused there (no or a bad token: 401; wrong role: 403) was
    never counted. It is counted here, by IP when anonymous (§1), so such
    requests are limited like any other.
    """
    view, request = context.get("view"), context.get("request")
    if (
        not isinstance(exc, drf.APIException)
        or exc.status_code >= 500
        or view is None
        or request is None
        or throttles_checked(request)
    ):
        return exc
    try:
        view.check_throttles(request)
    except (drf.Throttled, Autom8Error) as refusal:
        return refusal
    return exc


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every exception becomes the envelope."""
    exc = _counted(exc, context)
    unavailable = database_unavailable(context.get("request"), exc)
    if unavailable is not None:
        return unavailable
    if isinstance(exc, Autom8Error):
        response = Response(
            exc.body(), status=exc.status, headers=getattr(exc, "headers", None)
        )
        if exc.status >= 500:
            # An expected outage answer (no scheduler, no counters), not a
            # bug: the access line (a warning) records it, no error line.
            mark_logged(response)
        return response
    if isinstance(exc, Ratelimited):
        headers = {
            "Retry-After": RATELIMITED_RETRY_AFTER,
            **(getattr(exc, "headers", None) or {}),
        }
        return Response(
            error_body(429, RATE_LIMITED_MESSAGE), status=429, headers=headers
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(413, default_message(413)), status=413)
    if isinstance(exc, DjangoValidationError):
        details = (
            exc.message_dict
            if hasattr(exc, "error_dict")
            else {"non_field_errors": exc.messages}
        )
        details = {k: [str(m) for m in v] for k, v in details.items()}
        return Response(
            error_body(400, _validation_message(details), details), status=400
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        request = context.get("request")
        logger.error(
            "Unhandled error in %s %s",
            getattr(request, "method", "-"),
            getattr(request, "path", "-"),
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        response = Response(error_body(500, "Internal Server Error"), status=500)
        mark_logged(response)
        return response
    response.data = _drf_body(exc)
    return response


def bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    """Django's ``handler400``; a body over the upload limit is a 413."""
    if isinstance(exception, RequestDataTooBig):
        return json_error_response(413, default_message(413))
    return json_error_response(400, DEFAULT_MESSAGES[400])


def permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    """Django's ``handler403``."""
    if isinstance(exception, Ratelimited):
        response = json_error_response(429, RATE_LIMITED_MESSAGE)
        response["Retry-After"] = RATELIMITED_RETRY_AFTER
        return response
    return json_error_response(403, DEFAULT_MESSAGES[403])


def page_not_found(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    """Django's ``handler404``."""
    return json_error_response(404, DEFAULT_MESSAGES[404])


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's ``handler500``; the error itself was logged by Django's handler.

    Django calls it while handling the exception (one a middleware raised,
    say), so ``sys.exc_info()`` tells an unreachable database (503) apart.
    """
    unavailable = database_unavailable(request, sys.exc_info()[1])
    if unavailable is not None:
        return unavailable
    return json_error_response(500, "Internal Server Error")
