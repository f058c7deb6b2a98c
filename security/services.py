"""JWT issuing, rotation and revocation on top of simplejwt.

simplejwt's own rotation blacklists with ``get_or_create``, which lets two
concurrent refreshes of one token both succeed (each ``get`` misses, one
``create`` loses the unique race and ``get_or_create`` then returns the
winner's row as if it were its own). Here the unique constraint on
``BlacklistedToken.token`` decides instead: the blacklisting insert runs in
a transaction, and the request whose insert violates the constraint gets
401. Exactly one refresh of a token succeeds, on PostgreSQL and SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from contract.errors import Forbidden, Unauthorized

INVALID_CREDENTIALS = "Invalid username or password"
INVALID_REFRESH = "Invalid, expired or revoked refresh token"


@dataclass(frozen=True)
class TokenPair:
    """A freshly signed access and refresh token."""

    access: str
    refresh: str
    expires_in: int


def _pair(refresh: RefreshToken) -> TokenPair:
    access = refresh.access_token
    return TokenPair(
        access=str(access),
        refresh=str(refresh),
        expires_in=int(access["exp"]) - int(access["iat"]),
    )


def token_pair_issue(*, user) -> TokenPair:
    """A new token pair for ``user``; the refresh token is recorded as outstanding."""
    return _pair(RefreshToken.for_user(user))


def token_pair_obtain(*, username: str, password: str) -> TokenPair:
    """A token pair for valid, active credentials. Raises Unauthorized otherwise."""
    user = authenticate(request=None, username=username, password=password)
    if user is None:
        raise Unauthorized(INVALID_CREDENTIALS)
    return token_pair_issue(user=user)


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError as exc:  # bad signature, alg, type, expiry or blacklisted
        raise Unauthorized(INVALID_REFRESH) from exc


def _active_owner(token: RefreshToken):
    user_id = token.get(api_settings.USER_ID_CLAIM)
    user_model = get_user_model()
    user = user_model.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise Unauthorized(INVALID_REFRESH)
    return user


def _blacklist_once(token: RefreshToken, *, user) -> None:
    """Blacklist ``token``; raises Unauthorized when it already was."""
    jti = token[api_settings.JTI_CLAIM]
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={
            "user": user,
            "created_at": token.current_time,
            "token": str(token),
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError as exc:  # a concurrent request blacklisted it first
        raise Unauthorized(INVALID_REFRESH) from exc


def token_refresh(*, raw_refresh: str) -> TokenPair:
    """Rotate a refresh token: blacklist it, issue a new pair.

    Raises Unauthorized for an unusable token, an inactive or deleted owner,
    and for every refresh of one token but the first.
    """
    token = _decode_refresh(raw_refresh)
    user = _active_owner(token)
    with transaction.atomic():
        _blacklist_once(token, user=user)
        return token_pair_issue(user=user)


def token_revoke(*, raw_refresh: str, user) -> None:
    """Blacklist ``user``'s refresh token (logout).

    Raises Unauthorized for an unusable or already revoked token and
    Forbidden for a token of another user.
    """
    token = _decode_refresh(raw_refresh)
    if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise Forbidden("This refresh token belongs to another user")
    with transaction.atomic():
        _blacklist_once(token, user=user)
