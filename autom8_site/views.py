"""Discovery and status views: ``/``, ``health`` and ``info``.

All are anonymous and exempt from rate limits (API_CONTRACT.md §1), and
none needs the database except the health check, which survives its loss.
The schema and docs views are in ``autom8_site.docs_views``.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from autom8_site.health import UNHEALTHY, system_health
from contract.discovery import deprecation_notice, health_body, info_body, root_body
from security.deprecation import deprecated_routes
from security.exceptions import mark_logged
from security.schema import extend_schema

# Response bodies are documented from contract/snapshot.json by the
# autom8_site.openapi hook.
_OBJECT = {200: OpenApiTypes.OBJECT}


class PublicView(APIView):
    """Base of the anonymous, unthrottled discovery views."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []


@extend_schema(tags=["discovery"])
class RootView(PublicView):
    """Service name, version and a map of the main routes."""

    @extend_schema(
        operation_id="root", summary="Service entry point", responses=_OBJECT
    )
    def get(self, request: Request) -> Response:
        return Response(root_body(version=settings.AUTOM8_VERSION))


@extend_schema(tags=["discovery"])
class HealthView(PublicView):
    """Database, cache and scheduler checks; 503 when the database is down."""

    @extend_schema(
        operation_id="health",
        summary="Health of the service and its dependencies",
        responses={
            200: OpenApiTypes.OBJECT,
            503: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The database is unreachable: the same body, status unhealthy",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        health = system_health()
        body = health_body(
            status=health.status,
            version=settings.AUTOM8_VERSION,
            environment=settings.AUTOM8_ENV,
            database=health.database,
            cache=health.cache,
            scheduler=health.scheduler,
        )
        if health.status != UNHEALTHY:
            return Response(body)
        response = Response(body, status=503)
        # The failed check logged its own warning; without this Django would
        # add an ERROR line for every probe answered during an outage.
        mark_logged(response)
        return response


@extend_schema(tags=["discovery"])
class InfoView(PublicView):
    """Version, security posture and notices of deprecated routes."""

    @extend_schema(
        operation_id="info",
        summary="API version, security posture, notices",
        responses=_OBJECT,
    )
    def get(self, request: Request) -> Response:
        notices = [
            deprecation_notice(
                methods=route.methods,
                path=route.path,
                successor=route.deprecation.successor,
                sunset=route.deprecation.sunset,
            )
            for route in deprecated_routes()
        ]
        return Response(
            info_body(
                version=settings.AUTOM8_VERSION,
                environment=settings.AUTOM8_ENV,
                signed=bool(settings.RESPONSE_SIGNING_KEY),
                rate_limiting=settings.RATELIMIT_ENABLE,
                cors_enabled=_cors_enabled(),
                https_only=settings.SECURE_HTTPS,
                notices=notices,
            )
        )


def _cors_enabled() -> bool:
    # The middleware is always installed; CORS is "enabled" only when some
    # cross-origin caller is actually allowed.
    return bool(
        getattr(settings, "CORS_ALLOWED_ORIGINS", None)
        or getattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES", None)
        or getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False)
    )
