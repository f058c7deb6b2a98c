"""JWT issuing, rotation and revocation on top of simplejwt.

simplejwt's own rotation blacklists with ``get_or_create``, which lets two
concurrent refreshes of one token both succeed (each ``get`` misses, one
``create`` loses the unique race and ``get_or_create`` then returns the
winner's row as if it were its own). Here the unique constraint on
``BlacklistedToken.token`` decides instead: the blacklisting insert runs in
a transaction, and the request whose insert violates the constraint gets
401. Exactly one refresh of a token succeeds, on PostgreSQL and SQLite.

Sessions end (``security.tokens`` holds the claims): a password change
invalidates every token of the user; a session lasts at most
``JWT_SESSION_MAX_AGE`` however often it is refreshed; presenting a refresh
token that was already rotated away revokes its whole session (a stolen
token and its thief's successors with it); logout also revokes the access
token it was called with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import datetime_from_epoch

from contract.errors import Forbidden, Unauthorized
from security.models import RevokedToken
from security.revocations import any_revoked
from security.tokens import (
    SESSION_ID_CLAIM,
    SESSION_START_CLAIM,
    SessionRefreshToken,
    session_end,
    token_password_current,
)

logger = logging.getLogger("autom8.auth")

INVALID_CREDENTIALS = "Invalid username or password"
INVALID_REFRESH = "Invalid, expired or revoked refresh token"
REVOKED_TOKEN = "Token has been revoked"  # noqa: S105  # nosec B105 - a message


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
    """A new session's token pair for ``user``; the refresh token is outstanding."""
    return _pair(SessionRefreshToken.for_session(user))


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
        _revoke_session_of_reused(raw)
        raise Unauthorized(INVALID_REFRESH) from exc


def _revoke(key: str, *, until) -> None:
    RevokedToken.objects.get_or_create(key=key, defaults={"expires_at": until})


def _session_key(session_id: object) -> str:
    return f"sid:{session_id}"


def _revoke_session_of_reused(raw: str) -> None:
    """Revoke the session of a genuine refresh token that was already rotated."""
    try:
        payload = token_backend.decode(raw, verify=True)
    except TokenBackendError:  # forged or expired: nothing to protect
        return
    session_id = payload.get(SESSION_ID_CLAIM)
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or not session_id:
        return
    if not BlacklistedToken.objects.filter(
        token__jti=payload.get(api_settings.JTI_CLAIM)
    ).exists():
        return
    _revoke(_session_key(session_id), until=datetime_from_epoch(payload["exp"]))
    logger.warning(
        "A rotated refresh token was reused: session of user %s revoked",
        payload.get(api_settings.USER_ID_CLAIM),
    )


def _revoked(token: Token) -> bool:
    keys = [f"jti:{token.get(api_settings.JTI_CLAIM)}"]
    if token.get(SESSION_ID_CLAIM):
        keys.append(_session_key(token[SESSION_ID_CLAIM]))
    return any_revoked(keys)


def _active_owner(token: RefreshToken):
    user_id = token.get(api_settings.USER_ID_CLAIM)
    user_model = get_user_model()
    user = user_model.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise Unauthorized(INVALID_REFRESH)
    if not token_password_current(token, user):
        raise Unauthorized(INVALID_REFRESH)
    return user


def _live_session(token: RefreshToken) -> None:
    """Raises Unauthorized unless the token's session is known, young enough
    and not revoked."""
    if not token.get(SESSION_ID_CLAIM) or SESSION_START_CLAIM not in token:
        raise Unauthorized(INVALID_REFRESH)  # issued before sessions existed
    if session_end(token) <= timezone.now() or _revoked(token):
        raise Unauthorized(INVALID_REFRESH)


def token_session_valid(*, token: Token, user) -> bool:
    """Whether an access token still stands: same password, not revoked."""
    return token_password_current(token, user) and not _revoked(token)


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
    _live_session(token)
    with transaction.atomic():
        _blacklist_once(token, user=user)
        return _pair(
            SessionRefreshToken.for_session(
                user,
                session_id=token[SESSION_ID_CLAIM],
                started=token[SESSION_START_CLAIM],
            )
        )


def token_revoke(*, raw_refresh: str, user, access: Token | None = None) -> None:
    """Blacklist ``user``'s refresh token and revoke ``access`` until it expires
    (logout).

    Raises Unauthorized for an unusable or already revoked token and
    Forbidden for a token of another user.
    """
    token = _decode_refresh(raw_refresh)
    if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
        raise Forbidden("This refresh token belongs to another user")
    with transaction.atomic():
        _blacklist_once(token, user=user)
        if access is not None:
            _revoke(
                f"jti:{access[api_settings.JTI_CLAIM]}",
                until=datetime_from_epoch(access["exp"]),
            )
