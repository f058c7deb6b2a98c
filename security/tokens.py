"""Session claims of Autom8's JWTs: what lets a session be ended.

A refresh token carries its session's id (``sid``, the token family every
rotation inherits) and the moment the session began (``session_start``);
its access tokens copy both. simplejwt's ``CHECK_REVOKE_TOKEN`` adds a
fingerprint of the password hash (``hash_password``) to every token, so a
password change invalidates all of them.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta

from django.conf import settings
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import (
    datetime_from_epoch,
    datetime_to_epoch,
    get_md5_hash_password,
)

SESSION_ID_CLAIM = "sid"
SESSION_START_CLAIM = "session_start"


def token_password_current(token: Token, user) -> bool:
    """Whether ``token`` was issued for ``user``'s current password.

    The rule of simplejwt's ``CHECK_REVOKE_TOKEN``, for the checks simplejwt
    does not make itself (refresh, a cached user).
    """
    claimed = token.get(api_settings.REVOKE_TOKEN_CLAIM)
    current = get_md5_hash_password(user.password)
    return isinstance(claimed, str) and hmac.compare_digest(claimed, current)


def session_end(token: Token):
    """When the session of ``token`` ends for good (``JWT_SESSION_MAX_AGE``)."""
    started = datetime_from_epoch(token[SESSION_START_CLAIM])
    return started + timedelta(seconds=settings.JWT_SESSION_MAX_AGE)


class SessionRefreshToken(RefreshToken):
    """A refresh token of one session; rotations keep its id and start."""

    @classmethod
    def for_session(
        cls, user, *, session_id: str | None = None, started: int | None = None
    ) -> SessionRefreshToken:
        """A refresh token for ``user``; a new session unless one is named.

        Its expiry never passes the session's absolute end.
        """
        token = cls.for_user(user)
        token[SESSION_ID_CLAIM] = session_id or uuid.uuid4().hex
        token[SESSION_START_CLAIM] = (
            started if started is not None else datetime_to_epoch(token.current_time)
        )
        end = datetime_to_epoch(session_end(token))
        if end < token["exp"]:
            token["exp"] = end
        return token
