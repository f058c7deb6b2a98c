"""§3 endpoints (token, refresh, logout, protected) and §6 (metrics, error log)."""

from __future__ import annotations

from dataclasses import asdict

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4 as PROMETHEUS_TYPE
from prometheus_client.openmetrics.exposition import (
    CONTENT_TYPE_LATEST as OPENMETRICS_TYPE,
)
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.selectors import contact_count
from contract.auth import (
    parse_credentials_payload,
    parse_refresh_payload,
    protected_body,
    token_pair_body,
)
from contract.metrics import (
    api_metrics_body,
    endpoint_metrics_entry,
    error_log_body,
    metrics_summary_body,
    parse_error_log_query,
    system_body,
)
from contract.tasks import task_log_stats_body
from security.errorlog import error_log_entries
from security.metrics import cache_stats, metrics_exposition, request_stats
from security.permissions import IsAdminRole, IsUserRole, user_role
from security.schema import extend_schema
from security.services import token_pair_obtain, token_refresh, token_revoke
from security.system import system_usage
from security.throttling import DefaultRateThrottle, LoginRateThrottle
from tasks.selectors import task_log_stats

# Request and response bodies are documented by the autom8_site.openapi
# hook (REQUEST_BODIES and contract/snapshot.json).
_OBJECT = {200: OpenApiTypes.OBJECT}


def _pair_response(pair) -> Response:
    return Response(
        token_pair_body(
            access=pair.access, refresh=pair.refresh, expires_in=pair.expires_in
        )
    )


@extend_schema(tags=["auth"])
class TokenObtainView(APIView):
    """Exchange a username and password for a token pair."""

    # Credentials are in the body; a stale Authorization header must not
    # turn a login into a 401.
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="auth_token",
        summary="Obtain a token pair",
        request=OpenApiTypes.OBJECT,
        responses=_OBJECT,
    )
    def post(self, request: Request) -> Response:
        credentials = parse_credentials_payload(request.data)
        return _pair_response(token_pair_obtain(**credentials))


@extend_schema(tags=["auth"])
class TokenRefreshView(APIView):
    """Rotate a refresh token into a new pair; the old one is blacklisted."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [DefaultRateThrottle]

    @extend_schema(
        operation_id="auth_token_refresh",
        summary="Rotate a refresh token",
        request=OpenApiTypes.OBJECT,
        responses=_OBJECT,
    )
    def post(self, request: Request) -> Response:
        raw_refresh = parse_refresh_payload(request.data)
        return _pair_response(token_refresh(raw_refresh=raw_refresh))


@extend_schema(tags=["auth"])
class LogoutView(APIView):
    """Blacklist the caller's refresh token; the access token used is revoked too."""

    permission_classes = [IsUserRole]

    @extend_schema(
        operation_id="auth_logout",
        summary="Revoke a refresh token",
        request=OpenApiTypes.OBJECT,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        raw_refresh = parse_refresh_payload(request.data)
        token_revoke(raw_refresh=raw_refresh, user=request.user, access=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class ProtectedView(APIView):
    """Who the bearer is, and their role."""

    permission_classes = [IsUserRole]

    @extend_schema(
        operation_id="auth_protected", summary="Check a bearer token", responses=_OBJECT
    )
    def get(self, request: Request) -> Response:
        return Response(
            protected_body(
                username=request.user.get_username(), role=user_role(request.user)
            )
        )


# --- §6 metrics and logs ------------------------------------------------------


class _ExpositionRenderer(BaseRenderer):
    """Bytes of the Prometheus exposition, passed through."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data


class PrometheusTextRenderer(_ExpositionRenderer):
    """``text/plain``: the Prometheus text format."""

    media_type = "text/plain"
    format = "prometheus"


class OpenMetricsRenderer(_ExpositionRenderer):
    """``application/openmetrics-text``: the OpenMetrics format."""

    media_type = "application/openmetrics-text"
    format = "openmetrics"


class AcceptHeaderNegotiation(BaseContentNegotiation):
    """The first renderer whose media type the Accept header names, else JSON.

    The ``format`` query parameter is ignored (§ "Base path"), and an Accept
    header naming nothing known gets JSON rather than 406.
    """

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "")
        for renderer in renderers[1:]:
            if renderer.media_type in accept:
                return renderer, renderer.media_type
        return renderers[0], renderers[0].media_type


@extend_schema(tags=["metrics"])
class MetricsView(APIView):
    """Host load as JSON, or every process's metrics for Prometheus."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []
    renderer_classes = [JSONRenderer, OpenMetricsRenderer, PrometheusTextRenderer]
    content_negotiation_class = AcceptHeaderNegotiation

    @extend_schema(
        operation_id="metrics",
        summary="Host load, or Prometheus metrics",
        responses=_OBJECT,
    )
    def get(self, request: Request) -> Response:
        renderer = request.accepted_renderer
        if isinstance(renderer, _ExpositionRenderer):
            openmetrics = isinstance(renderer, OpenMetricsRenderer)
            return Response(
                metrics_exposition(openmetrics=openmetrics),
                content_type=OPENMETRICS_TYPE if openmetrics else PROMETHEUS_TYPE,
            )
        usage = system_usage()
        return Response(
            metrics_summary_body(
                cpu_percent=usage.cpu_percent,
                memory_percent=usage.memory_percent,
                disk_percent=usage.disk_percent,
                now=timezone.now(),
            )
        )


def _system() -> dict:
    return system_body(now=timezone.now(), **asdict(system_usage()))


@extend_schema(tags=["metrics"])
class ApiMetricsView(APIView):
    """Requests of every worker, cache, tasks, database counts and the host."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="metrics_summary", summary="Service metrics", responses=_OBJECT
    )
    def get(self, request: Request) -> Response:
        stats = request_stats()
        cache = cache_stats()
        task_logs = task_log_stats()
        by_endpoint = {
            name: endpoint_metrics_entry(**asdict(endpoint))
            for name, endpoint in sorted(stats.by_endpoint.items())
        }
        return Response(
            api_metrics_body(
                total=stats.total,
                errors=stats.errors,
                error_rate=stats.error_rate,
                p50_ms=stats.p50_ms,
                p95_ms=stats.p95_ms,
                p99_ms=stats.p99_ms,
                by_endpoint=by_endpoint,
                cache_hits=cache["hits"],
                cache_misses=cache["misses"],
                tasks=task_log_stats_body(task_logs),
                contacts=contact_count(),
                task_logs=task_logs["total"],
                system=_system(),
                integrity_verified=bool(settings.RESPONSE_SIGNING_KEY),
            )
        )


@extend_schema(tags=["metrics"])
class SystemMetricsView(APIView):
    """CPU, memory and disk of the host."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="metrics_system", summary="Host resources", responses=_OBJECT
    )
    def get(self, request: Request) -> Response:
        return Response(_system())


@extend_schema(tags=["metrics"])
class ErrorLogView(APIView):
    """The newest entries of the error log (admin)."""

    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="logs_errors",
        summary="Newest error log entries",
        parameters=[OpenApiParameter("limit", int, description="1-500, default 50")],
        responses=_OBJECT,
    )
    def get(self, request: Request) -> Response:
        limit = parse_error_log_query(request.query_params)
        return Response(error_log_body(list(error_log_entries(limit=limit))))
