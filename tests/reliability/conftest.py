"""Shared pieces of the reliability suite: callers with real JWTs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory


@dataclass(frozen=True)
class Caller:
    """A stored account, its password and a real access token."""

    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of its token."""
        return {"Authorization": f"Bearer {self.token}"}


def caller_for(user) -> Caller:
    """A ``Caller`` for a saved user (password ``DEFAULT_PASSWORD``)."""
    token = str(RefreshToken.for_user(user).access_token)
    return Caller(username=user.username, password=DEFAULT_PASSWORD, token=token)


@pytest.fixture(scope="module")
def module_callers(django_db_setup, django_db_blocker) -> Iterator[dict[str, Caller]]:
    """A user and an admin committed for the whole module; the database is
    flushed after the module.

    Module scope lets one live server scenario serve several tests; the data
    is committed so gunicorn's processes see it. Those processes commit rows
    of their own (tokens, contacts) that no test transaction rolls back, so
    the module ends with a flush, as a transactional test does. The module's
    tests carry ``django_db`` so the test database is set up.
    """
    with django_db_blocker.unblock():
        user = UserFactory(username="reliability-user")
        admin = AdminFactory(username="reliability-admin")
        callers = {"user": caller_for(user), "admin": caller_for(admin)}
    yield callers
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
