"""The application's own limits on request lines and header fields.

gunicorn is started with limits above these (``autom8_site.launch``), so a
request over them reaches the application and is refused here, inside
``ResponseEnvelopeMiddleware``: the answer is the §1 envelope with every §1
header, not the server's bare HTML page. The values are gunicorn's defaults.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from security.exceptions import json_error_response

# Method, target and protocol, as in "GET /path?query HTTP/1.1".
MAX_REQUEST_LINE = 4094
# One header line, "Name: value".
MAX_HEADER_FIELD = 8190
MAX_HEADER_FIELDS = 100
# WSGI keys of request headers that do not start with HTTP_.
_UNPREFIXED = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


def _request_line_length(meta: dict) -> int:
    target = meta.get("RAW_URI")
    if target is None:
        query = meta.get("QUERY_STRING", "")
        target = meta.get("PATH_INFO", "") + (f"?{query}" if query else "")
    parts = (meta.get("REQUEST_METHOD", ""), target, meta.get("SERVER_PROTOCOL", ""))
    return sum(len(part) for part in parts) + 2


def _header_fields(meta: dict) -> list[tuple[str, str]]:
    fields = []
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            fields.append((key[5:].replace("_", "-").title(), str(value)))
        elif key in _UNPREFIXED:
            fields.append((_UNPREFIXED[key], str(value)))
    return fields


def oversized_request(request: HttpRequest) -> HttpResponse | None:
    """The 414 or 431 answer when the request is over a limit, else None."""
    if _request_line_length(request.META) > MAX_REQUEST_LINE:
        return json_error_response(
            414, f"The request line is longer than {MAX_REQUEST_LINE} bytes"
        )
    fields = _header_fields(request.META)
    if len(fields) > MAX_HEADER_FIELDS:
        return json_error_response(
            431, f"The request has more than {MAX_HEADER_FIELDS} header fields"
        )
    for name, value in fields:
        if len(name) + 2 + len(value) > MAX_HEADER_FIELD:
            return json_error_response(
                431, f"The {name} header is longer than {MAX_HEADER_FIELD} bytes"
            )
    return None
