"""Bearer authentication of the API: simplejwt's, with RFC 7235 scheme matching.

An authentication scheme name is case-insensitive (RFC 7235 §2.1), so
``Authorization: bearer <token>`` and ``BEARER <token>`` authenticate like
``Bearer <token>``; simplejwt alone compares the scheme byte for byte.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import (
    AUTH_HEADER_TYPE_BYTES,
    JWTAuthentication,
)

from security.services import REVOKED_TOKEN, token_session_valid


class BearerAuthentication(JWTAuthentication):
    """JWT bearer tokens; the scheme name is matched whatever its case.

    A token issued before the user's password changed, revoked by logout or
    of a revoked session is refused with 401.
    """

    def authenticate(self, request):
        """(user, token) for a valid bearer token that still stands, else None."""
        result = super().authenticate(request)
        if result is not None and not token_session_valid(
            token=result[1], user=result[0]
        ):
            raise AuthenticationFailed(REVOKED_TOKEN, code="token_revoked")
        return result

    def get_raw_token(self, header: bytes) -> bytes | None:
        """The token of an ``Authorization`` header naming a known scheme."""
        parts = header.split()
        if parts:
            schemes = {scheme.lower(): scheme for scheme in AUTH_HEADER_TYPE_BYTES}
            scheme = schemes.get(parts[0].lower())
            if scheme is not None:
                header = b" ".join([scheme, *parts[1:]])
        return super().get_raw_token(header)


class BearerAuthenticationScheme(SimpleJWTScheme):
    """Documents ``BearerAuthentication`` in the OpenAPI schema as simplejwt's."""

    target_class = "security.authentication.BearerAuthentication"
