"""Deprecated routes: one decorator, four channels (API_CONTRACT.md §7).

``@deprecated(sunset=..., successor=..., deprecated_on=...)`` on an APIView
class (or a view function) makes every response of that route carry
``Deprecation`` (RFC 9745), ``Sunset`` (RFC 8594) and a ``successor-version``
``Link``; logs a warning per call on ``autom8.deprecation``; marks the
operation ``deprecated: true`` in the OpenAPI schema; and registers the view
so ``deprecated_routes()`` can list it for ``/api/v1/info`` notices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.http import http_date
from rest_framework.views import APIView

from security.schema import extend_schema
from security.throttling import client_ip

logger = logging.getLogger("autom8.deprecation")

_NON_OPERATIONS = {"options", "head", "trace"}


@dataclass(frozen=True)
class Deprecation:
    """When a view was deprecated, when it goes away and what replaces it."""

    deprecated_on: date
    sunset: date
    successor: str

    def headers(self) -> dict[str, str]:
        """The ``Deprecation``, ``Sunset`` and ``Link`` response headers."""
        return {
            "Deprecation": f"@{_midnight_utc(self.deprecated_on)}",
            "Sunset": http_date(_midnight_utc(self.sunset)),
            "Link": f'<{self.successor}>; rel="successor-version"',
        }


@dataclass(frozen=True)
class DeprecatedRoute:
    """A deprecated route as mounted in the URL configuration."""

    methods: tuple[str, ...]
    path: str
    deprecation: Deprecation


_REGISTRY: dict[object, Deprecation] = {}


def _midnight_utc(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def deprecated(*, sunset: date, successor: str, deprecated_on: date) -> Callable:
    """Mark an APIView class as deprecated (every API view is one).

    Raises ImproperlyConfigured at decoration time when the sunset is before
    the deprecation date or the successor is empty, and TypeError when the
    decorated object is not an APIView class.
    """
    if sunset < deprecated_on:
        raise ImproperlyConfigured(
            f"Sunset {sunset.isoformat()} is before the deprecation date "
            f"{deprecated_on.isoformat()}"
        )
    if not successor:
        raise ImproperlyConfigured("A deprecated route needs a successor")
    info = Deprecation(deprecated_on=deprecated_on, sunset=sunset, successor=successor)

    def decorate(view):
        if isinstance(view, type) and issubclass(view, APIView):
            return _deprecate_class(view, info)
        raise TypeError(f"@deprecated decorates APIView classes, not {view!r}")

    return decorate


def _deprecate_class(view_class: type[APIView], info: Deprecation) -> type[APIView]:
    original = view_class.finalize_response

    def finalize_response(self, request, response, *args, **kwargs):
        response = original(self, request, response, *args, **kwargs)
        _announce(request, response, info)
        return response

    view_class.finalize_response = finalize_response
    view_class = extend_schema(deprecated=True)(view_class)
    _REGISTRY[view_class] = info
    return view_class


def _announce(request, response, info: Deprecation) -> None:
    for name, value in info.headers().items():
        if name == "Link" and response.has_header("Link"):
            value = f"{response['Link']}, {value}"
        response[name] = value
    logger.warning(
        "Deprecated route called: %s %s by %s; use %s (sunset %s)",
        request.method,
        request.path,
        _caller(request),
        info.successor,
        info.sunset.isoformat(),
        extra={
            "route": request.path,
            "method": request.method,
            "user": _username(request),
            "ip": client_ip(request),
            "successor": info.successor,
            "sunset": info.sunset.isoformat(),
        },
    )


def _username(request) -> str | None:
    # DRF sets ``_user`` once authentication ran; reading ``request.user``
    # here could re-run it and raise on a bad token.
    user = getattr(request, "_user", None)
    if user is None:
        user = getattr(getattr(request, "_request", request), "user", None)
    if user is not None and user.is_authenticated:
        return user.get_username()
    return None


def _caller(request) -> str:
    username = _username(request)
    if username:
        return f"user {username}"
    return f"IP {client_ip(request)}"


def deprecation_of(view: Callable) -> Deprecation | None:
    """The deprecation registered for a URL pattern's callback, or None."""
    return _REGISTRY.get(getattr(view, "view_class", None))


def deprecated_routes(urlconf: str | None = None) -> list[DeprecatedRoute]:
    """Every deprecated route mounted in ``urlconf``, sorted by path."""
    found = [
        DeprecatedRoute(methods=_methods(callback), path=path, deprecation=info)
        for path, callback in _walk(get_resolver(urlconf).url_patterns, "/")
        if (info := deprecation_of(callback)) is not None
    ]
    return sorted(found, key=lambda route: route.path)


def _walk(patterns: Iterable, prefix: str):
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def _methods(callback: Callable) -> tuple[str, ...]:
    view_class = callback.view_class
    return tuple(
        method.upper()
        for method in view_class.http_method_names
        if method not in _NON_OPERATIONS and hasattr(view_class, method)
    )
