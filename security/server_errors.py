"""gunicorn's own error answers in the §1 shape.

gunicorn refuses some requests before the application sees them: header
bytes it cannot parse (400), a request line or headers over its own limits
(414, 431; ``make run`` sets those above the application's, see
``security.limits``). It answers them with a small HTML page without the §1
headers. ``install_gunicorn_error_writer`` replaces that page, inside each
worker, by the error envelope with every §1 header. gunicorn's message
(which echoes the refused input) is not sent back; gunicorn still logs it.
"""

from __future__ import annotations

import logging
import time

from security.exceptions import default_message, json_error_response
from security.middleware import add_section_1_headers

logger = logging.getLogger("autom8.errors")


def server_error_bytes(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 error answer: status line, §1 headers, envelope."""
    started = time.perf_counter()
    response = json_error_response(status, default_message(status))
    add_section_1_headers(response, started=started)
    head = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in response.items()]
    head.append(f"Content-Length: {len(response.content)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.content


def install_gunicorn_error_writer() -> bool:
    """Make this gunicorn worker answer its own errors as the envelope.

    Returns False (and changes nothing) when gunicorn is not what it was
    written against.
    """
    try:
        from gunicorn import util
    except ImportError:
        return False
    original = getattr(util, "write_error", None)
    write_nonblock = getattr(util, "write_nonblock", None)
    if original is None or write_nonblock is None:
        return False

    def write_error(sock, status_int, reason, mesg) -> None:
        try:
            data = server_error_bytes(int(status_int), str(reason))
        except Exception:  # noqa: BLE001 - its own page beats no answer
            logger.warning("Envelope for gunicorn's %s unavailable", status_int)
            original(sock, status_int, reason, mesg)
            return
        write_nonblock(sock, data)

    util.write_error = write_error
    return True
