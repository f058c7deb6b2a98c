"""WSGI middleware: request bodies sent chunked are read like any other.

A body sent with ``Transfer-Encoding: chunked`` reaches the application
without ``CONTENT_LENGTH`` (gunicorn de-chunks ``wsgi.input``), and Django
reads such a body as empty: a chunked PATCH would change nothing and answer
200. This middleware reads the body first, at most one byte more than
``DATA_UPLOAD_MAX_MEMORY_SIZE``, and hands Django an ordinary sized body; a
body over the limit then meets Django's own check and becomes the 413
envelope like any other.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from django.conf import settings

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def is_unsized_chunked(environ: dict) -> bool:
    """Whether the request body is chunked and carries no ``CONTENT_LENGTH``."""
    codings = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in codings and not environ.get("CONTENT_LENGTH")


class ChunkedBodyMiddleware:
    """Reads a chunked request body and sets ``CONTENT_LENGTH`` for Django."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if is_unsized_chunked(environ):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            stream = environ["wsgi.input"]
            body = stream.read() if limit is None else stream.read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
