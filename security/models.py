"""Revocations the JWT signatures cannot express on their own."""

from django.db import models


class RevokedToken(models.Model):
    """A revoked access token (``jti:<id>``) or session (``sid:<id>``) until it expires.

    Logout revokes the presented access token; reusing a rotated refresh
    token revokes its whole session. Rows past ``expires_at`` are useless
    (the tokens have expired) and the cleanup task deletes them.
    """

    key = models.CharField(max_length=80, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
