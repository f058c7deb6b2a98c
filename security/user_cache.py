"""Users of bearer tokens, kept in the shared cache between their changes.

Authenticating a token needs its user's row (``is_active``, ``is_staff``,
``username``, and the password hash a revocation claim is checked against).
The row is kept in the ``shared`` cache (Redis with ``REDIS_URL``, else
node-local files every worker reads), keyed by user id, so a request whose
user did not change costs no query.

Every save or delete of a user drops its entry, at once and again when the
transaction commits (so a read between the two cannot keep the old row):
the admin, ``changepassword``, ``createsuperuser`` and services all save.
A queryset ``update()`` sends no signal; entries also expire after
``USER_CACHE_SECONDS``, which bounds how long such a change goes unseen.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from rest_framework_simplejwt import settings as jwt_settings

logger = logging.getLogger("autom8.auth")

CACHE_ALIAS = "shared"
USER_CACHE_SECONDS = 60
_KEY = "auth-user:{}"


def _cache():
    return caches[CACHE_ALIAS]


def user_get_cached(*, user_id: object):
    """The user with this id, from the cache or else the database; None if absent."""
    key = _KEY.format(user_id)
    try:
        user = _cache().get(key)
    except Exception as exc:  # noqa: BLE001 - the database still answers
        logger.warning("User cache unreadable (%s)", type(exc).__name__)
        user = None
    if user is not None:
        return user
    user_model = get_user_model()
    user = user_model.objects.filter(
        **{jwt_settings.api_settings.USER_ID_FIELD: user_id}
    ).first()
    if user is not None:
        try:
            _cache().set(key, user, timeout=USER_CACHE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - serving matters more
            logger.warning("User cache not written (%s)", type(exc).__name__)
    return user


def user_forget(*, user_id: object) -> None:
    """Drop the cached user now and again when the current transaction commits."""
    key = _KEY.format(user_id)

    def forget() -> None:
        try:
            _cache().delete(key)
        except Exception as exc:  # noqa: BLE001 - it still expires by itself
            logger.warning("User cache entry not dropped (%s)", type(exc).__name__)

    forget()
    transaction.on_commit(forget, robust=True)


def _user_changed(sender, instance, **kwargs) -> None:
    user_forget(user_id=getattr(instance, jwt_settings.api_settings.USER_ID_FIELD))


def connect_signals() -> None:
    """Drop a user's cache entry whenever the user is saved or deleted."""
    user_model = get_user_model()
    post_save.connect(_user_changed, sender=user_model, dispatch_uid=_KEY)
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid=_KEY)
