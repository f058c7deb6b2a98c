"""The request body parser of the API: DRF's JSON parser, made total.

DRF's ``JSONParser`` turns a ``ValueError`` from the decoder into a 400, but
a body nested deeper than Python's recursion limit (``[[[[...]]]]``) makes
the decoder raise ``RecursionError``, which would surface as a 500.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONBodyParser(JSONParser):
    """``application/json`` bodies; one nested too deeply to decode is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        """The decoded body; raises ParseError for any body that is not JSON."""
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
