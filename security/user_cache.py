"""Users of bearer tokens, kept in each worker's memory between their changes.

Authenticating a token needs its user's row (``is_active``, ``is_staff``,
``username``, and the password hash a revocation claim is checked against).
Each worker keeps the rows it has read (``security.cache.local``) while the
shared ``auth`` generation stands, so a request whose user did not change
costs no query and no shared-cache read beyond the generation (read once
per request for the user and the revocations alike).

The generation moves after every committed write to the user table, from
any process (``security.cache.generations`` watches the statements: saves,
deletes and queryset updates alike). A save or delete through the ORM also
moves it at once, before the commit, so a change is seen by the next
request even inside an enclosing transaction; the commit moves it again, so
a row read between the two is never kept. Copies also expire after
``USER_CACHE_SECONDS``, which bounds how long a change whose generation bump
was lost to a shared-cache outage goes unseen.

Each request gets its own copy of the row: whatever a request caches on its
user (permissions) stays with that request.
"""

from __future__ import annotations

import copy

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from rest_framework_simplejwt import settings as jwt_settings

from security.cache.generations import AUTH_SCOPE, scopes_bump
from security.cache.local import LocalCopies

SCOPE = AUTH_SCOPE
USER_CACHE_SECONDS = 60
_DISPATCH_UID = "autom8.user_cache"

_users: LocalCopies = LocalCopies(SCOPE, max_age=USER_CACHE_SECONDS)


def user_get_cached(*, user_id: object):
    """The user with this id, from this worker's copies or else the database;
    None if absent."""

    def load():
        return (
            get_user_model()
            .objects.filter(**{jwt_settings.api_settings.USER_ID_FIELD: user_id})
            .first()
        )

    user = _users.get(user_id, load)
    return None if user is None else copy.copy(user)


def users_changed() -> None:
    """Move the auth generation now; the statement watcher of
    ``security.cache.generations`` moves it again when the write commits."""
    scopes_bump(SCOPE)


def _user_changed(sender, instance, **kwargs) -> None:
    users_changed()


def connect_signals() -> None:
    """Drop every worker's copies whenever a user is saved or deleted."""
    user_model = get_user_model()
    post_save.connect(_user_changed, sender=user_model, dispatch_uid=_DISPATCH_UID)
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid=_DISPATCH_UID)
