"""§3 endpoints: token, refresh, logout and the protected probe."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contract.auth import (
    parse_credentials_payload,
    parse_refresh_payload,
    protected_body,
    token_pair_body,
)
from security.permissions import IsUserRole, user_role
from security.services import token_pair_obtain, token_refresh, token_revoke
from security.throttling import DefaultRateThrottle, LoginRateThrottle

_CREDENTIALS = inline_serializer(
    "TokenRequest",
    fields={"username": serializers.CharField(), "password": serializers.CharField()},
)
_REFRESH = inline_serializer(
    "RefreshRequest", fields={"refresh": serializers.CharField()}
)
# Response bodies are documented from contract/snapshot.json by the
# autom8_site.openapi hook.
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
        request=_CREDENTIALS,
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
        request=_REFRESH,
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
        request=_REFRESH,
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
