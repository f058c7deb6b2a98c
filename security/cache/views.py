"""§6 ``POST /api/v1/performance/cache/clear`` (admin)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contract.performance import cache_clear_body
from security.cache.services import cache_clear
from security.permissions import IsAdminRole
from security.schema import extend_schema


@extend_schema(tags=["performance"])
class CacheClearView(APIView):
    """Retire every cached page, on every worker and node."""

    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="performance_cache_clear",
        summary="Clear the response cache",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        cache_clear()
        return Response(cache_clear_body(cleared_at=timezone.now()))
