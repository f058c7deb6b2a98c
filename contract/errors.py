"""The error family services raise, and the envelope every error renders as."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

STATUS_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    429: "Rate limit exceeded",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


# The ``message`` of an error when nothing more specific is known; the error
# classes below and the outermost handlers all take theirs from here.
DEFAULT_MESSAGES = {
    400: "Bad request",
    401: "Authentication credentials were not provided or are invalid",
    403: "You do not have permission to perform this action",
    404: "Resource not found",
    405: "Method not allowed",
    406: "Not acceptable: this API answers application/json",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type: send application/json",
    429: "Too many requests. Please try again later.",
    500: "Internal Server Error",
    503: "Service temporarily unavailable",
}


def status_phrase(status: int) -> str:
    """The contract's ``error`` value for an HTTP status."""
    return STATUS_PHRASES.get(status, "Error")


def error_body(
    status: int,
    message: str,
    details: Mapping[str, Sequence[str]] | None = None,
) -> dict:
    """The §1 error envelope; ``details`` only when there are field errors."""
    body = {"error": status_phrase(status), "message": message}
    if details:
        body["details"] = {
            field: [str(m) for m in msgs] for field, msgs in details.items()
        }
    return body


class Autom8Error(Exception):
    """Base of the errors services raise; each maps to one HTTP status."""

    status = 500
    default_message = DEFAULT_MESSAGES[500]

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = dict(details or {})
        super().__init__(self.message)

    def body(self) -> dict:
        """The envelope for this error."""
        return error_body(self.status, self.message, self.details)


class Invalid(Autom8Error):
    """400: a field (or the body) is invalid. ``field`` is named in details."""

    status = 400
    default_message = "Invalid request"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        details: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        merged = dict(details or {})
        if field is not None and field not in merged:
            merged[field] = [message or self.default_message]
        super().__init__(message, details=merged)
        self.field = field


class Unauthorized(Autom8Error):
    """401: missing or unusable credentials."""

    status = 401
    default_message = DEFAULT_MESSAGES[401]


class Forbidden(Autom8Error):
    """403: the caller's role may not do this."""

    status = 403
    default_message = DEFAULT_MESSAGES[403]


class NotFound(Autom8Error):
    """404: the resource does not exist."""

    status = 404
    default_message = DEFAULT_MESSAGES[404]


class Conflict(Autom8Error):
    """409: the request clashes with the current state."""

    status = 409
    default_message = DEFAULT_MESSAGES[409]


class ServiceUnavailable(Autom8Error):
    """503: a dependency the request needs is down; says when to try again."""

    status = 503
    default_message = DEFAULT_MESSAGES[503]
    retry_after_seconds = 5

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After``, in seconds."""
        return {"Retry-After": str(self.retry_after_seconds)}


def limit_invalid(maximum: int) -> Invalid:
    """The 400 for a page ``limit`` that is not a whole number from 1 to ``maximum``."""
    return Invalid(f"limit must be an integer between 1 and {maximum}", field="limit")


def offset_invalid() -> Invalid:
    """The 400 for a page ``offset`` that is not a whole number, 0 or more."""
    return Invalid("offset must be an integer, 0 or more", field="offset")


def cursor_invalid() -> Invalid:
    """The 400 for a ``cursor`` this server did not issue (tampered, foreign)."""
    return Invalid(
        "cursor is invalid; use the next_cursor of the previous page as given",
        field="cursor",
    )
