"""Bearer authentication of the API: simplejwt's, with RFC 7235 scheme matching.

An authentication scheme name is case-insensitive (RFC 7235 §2.1), so
``Authorization: bearer <token>`` and ``BEARER <token>`` authenticate like
``Bearer <token>``; simplejwt alone compares the scheme byte for byte.

A token's signature and claims are checked once per worker: the validated
token is remembered by its exact bytes (``VALIDATED_TOKENS`` of them, the
oldest forgotten first), and a remembered token is only checked again for
expiry. Revocation, the user and the session are checked on every request.

The token's user comes from ``security.user_cache`` (no query while the
user is unchanged); the checks on it are simplejwt's: the user exists, is
active and, with ``CHECK_REVOKE_TOKEN``, the token's password-hash claim
matches the current password.
"""

from __future__ import annotations

import threading

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.authentication import (
    AUTH_HEADER_TYPE_BYTES,
    JWTAuthentication,
)
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    InvalidToken,
    TokenError,
)
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from security.services import REVOKED_TOKEN, token_session_valid
from security.tokens import token_password_current
from security.user_cache import user_get_cached

VALIDATED_TOKENS = 1024
# Raw token bytes -> the token simplejwt validated from them.
_validated: dict[bytes, Token] = {}


_remembering = threading.Lock()


def _remember(raw_token: bytes, token: Token) -> None:
    # Under a lock: taking the oldest key iterates the dict, which another
    # thread's insert would otherwise break off with a RuntimeError.
    with _remembering:
        while len(_validated) >= VALIDATED_TOKENS:
            del _validated[next(iter(_validated))]
        _validated[raw_token] = token


class BearerAuthentication(JWTAuthentication):
    """JWT bearer tokens; the scheme name is matched whatever its case.

    A token issued before the user's password changed, revoked by logout or
    of a revoked session is refused with 401.
    """

    def __init__(self) -> None:
        # simplejwt's __init__ looks the user model up on every request (DRF
        # builds authenticators per request) for its get_user, which
        # get_user below replaces; the lookup is made when asked for.
        super(JWTAuthentication, self).__init__()

    @property
    def user_model(self):
        """The user model, as simplejwt's authenticator exposes it."""
        return get_user_model()

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

    def get_validated_token(self, raw_token: bytes) -> Token:
        """simplejwt's validated token; a token seen before is only checked
        for expiry (an expired one is validated afresh, for simplejwt's error)."""
        token = _validated.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
            except TokenError:
                with _remembering:
                    _validated.pop(raw_token, None)
            else:
                return token
        token = super().get_validated_token(raw_token)
        _remember(raw_token, token)
        return token

    def get_user(self, validated_token: Token):
        """The token's user, checked as simplejwt checks it (messages included)."""
        try:
            user_id = validated_token[jwt_settings.api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(
                _("Token contained no recognizable user identification")
            ) from exc
        user = user_get_cached(user_id=user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if jwt_settings.api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if jwt_settings.api_settings.CHECK_REVOKE_TOKEN and not token_password_current(
            validated_token, user
        ):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user
