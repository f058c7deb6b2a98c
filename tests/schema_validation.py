"""Every API response a test receives is checked against the OpenAPI schema.

The schema is the one ``/api/v1/schema`` serves, generated once per
session. A response of a documented operation must carry a documented
status (``default`` only stands in for the statuses any route may give,
such as 405 or 500) and a body and headers that match it. Routes absent
from the schema (the docs pages, the admin, test-only URLconfs) are left
alone.
"""

from __future__ import annotations

import json
import re
from functools import cache

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpRequest
from django.test.client import Client
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

# Statuses any route can answer whatever it documents: left to ``default``.
_ANY_ROUTE = {405, 406, 411, 500}
_original_request = Client.request


class _Request(DjangoOpenAPIRequest):
    """The request side of a response check: only its route matters, so a
    header the server refused (a newline) or a body too large is left out."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        match = request.resolver_match
        self.parameters = RequestParameters(
            path=match.kwargs if match else {},
            query=ImmutableMultiDict(request.GET),
            header=Headers(),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        """The server's URL; a refused ``Host`` (a 400 test) is not the route's."""
        try:
            return super().host_url
        except DisallowedHost:
            return f"{self.request.scheme}://testserver"

    @property
    def body(self) -> bytes:
        try:
            return super().body
        except RequestDataTooBig:
            return b""


@cache
def openapi_document() -> dict:
    """The schema as served: plain JSON types, generated once."""
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator(urlconf="autom8_site.urls")
    schema = generator.get_schema(request=None, public=True)
    return json.loads(json.dumps(schema, default=str))


@cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(openapi_document())


@cache
def _templates() -> list[tuple[re.Pattern, dict]]:
    return [
        (re.compile("^" + re.sub(r"\\{[^}]*\\}", "[^/]+", re.escape(path)) + "$"), item)
        for path, item in openapi_document()["paths"].items()
    ]


def _operation(method: str, path: str) -> dict | None:
    for pattern, item in _templates():
        if pattern.match(path):
            return item.get(method.lower())
    return None


def response_schema_problem(response) -> str | None:
    """Why ``response`` does not match the schema, or None when it does
    (or when its route is not documented)."""
    request = _Request(response.wsgi_request)
    operation = _operation(request.method, request.path)
    if operation is None:
        return None
    status = response.status_code
    if str(status) not in operation["responses"] and status not in _ANY_ROUTE:
        method = request.method.upper()
        return f"status {status} is not documented for {method} {request.path}"
    try:
        _openapi().validate_response(request, DjangoOpenAPIResponse(response))
    except Exception as exc:  # every validation failure names itself  # noqa: BLE001
        cause = getattr(exc, "__cause__", None)
        return f"{request.method.upper()} {request.path} {status}: {exc!r} {cause!r}"
    return None


def validating_request(self, **request):
    """``Client.request`` that fails the test on a response off the schema."""
    response = _original_request(self, **request)
    problem = response_schema_problem(response)
    if problem is not None:
        raise AssertionError(f"Response does not match the OpenAPI schema: {problem}")
    return response
