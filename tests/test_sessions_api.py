"""Ending sessions over the API: password change, lifetime, reuse, logout."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.utils import datetime_to_epoch

from security.tokens import SessionRefreshToken
from tests.factories import DEFAULT_PASSWORD

# Revocations reach the other requests when their transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
LOGOUT_URL = "/api/v1/auth/logout"
PROTECTED_URL = "/api/v1/auth/protected"


def login(user) -> dict:
    response = APIClient().post(
        TOKEN_URL,
        {"username": user.username, "password": DEFAULT_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return APIClient().post(REFRESH_URL, {"refresh": token}, format="json")


def protected(access: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(PROTECTED_URL)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


class TestPasswordChange:
    def test_the_old_access_token_is_refused(self, user):
        pair = login(user)
        user.set_password("a-brand-new-passphrase")
        user.save()

        response = protected(pair["access"])

        assert response.status_code == 401
        assert set(response.json()) == {"error", "message"}

    def test_the_old_refresh_token_is_refused(self, user):
        pair = login(user)
        user.set_password("a-brand-new-passphrase")
        user.save()

        response = refresh(pair["refresh"])

        assert response.status_code == 401

    def test_tokens_issued_after_the_change_work(self, user):
        user.set_password("a-brand-new-passphrase")
        user.save()
        response = APIClient().post(
            TOKEN_URL,
            {"username": user.username, "password": "a-brand-new-passphrase"},
            format="json",
        )

        assert protected(response.json()["access"]).status_code == 200


class TestDeactivation:
    def test_the_access_token_is_refused(self, user):
        pair = login(user)
        user.is_active = False
        user.save()

        assert protected(pair["access"]).status_code == 401

    def test_the_refresh_token_is_refused(self, user):
        pair = login(user)
        user.is_active = False
        user.save()

        assert refresh(pair["refresh"]).status_code == 401


class TestAbsoluteSessionLifetime:
    def test_a_refresh_keeps_the_session_start(self, user):
        first = login(user)["refresh"]

        second = refresh(first).json()["refresh"]

        assert claims(second)["session_start"] == claims(first)["session_start"]
        assert claims(second)["sid"] == claims(first)["sid"]

    def test_a_session_older_than_the_maximum_age_cannot_refresh(self, user, settings):
        settings.JWT_SESSION_MAX_AGE = 30 * 24 * 3600
        started = timezone.now() - timedelta(days=30, seconds=1)
        token = SessionRefreshToken.for_session(
            user, started=datetime_to_epoch(started)
        )

        response = refresh(str(token))

        assert response.status_code == 401

    def test_a_session_within_the_maximum_age_refreshes(self, user, settings):
        settings.JWT_SESSION_MAX_AGE = 30 * 24 * 3600
        started = timezone.now() - timedelta(days=29)
        token = SessionRefreshToken.for_session(
            user, started=datetime_to_epoch(started)
        )

        assert refresh(str(token)).status_code == 200

    def test_a_refresh_token_never_outlives_its_session(self, user, settings):
        settings.JWT_SESSION_MAX_AGE = 3600
        pair = login(user)

        rotated = refresh(pair["refresh"]).json()["refresh"]

        assert claims(rotated)["exp"] == claims(rotated)["session_start"] + 3600


class TestRefreshTokenReuse:
    def test_reusing_a_rotated_token_revokes_its_successor(self, user):
        first = login(user)["refresh"]
        second = refresh(first).json()["refresh"]

        reused = refresh(first)
        response = refresh(second)

        assert reused.status_code == 401
        assert response.status_code == 401

    def test_reusing_a_rotated_token_revokes_the_sessions_access_tokens(self, user):
        first = login(user)["refresh"]
        access = refresh(first).json()["access"]

        refresh(first)

        assert protected(access).status_code == 401

    def test_other_sessions_of_the_user_are_untouched(self, user):
        other = login(user)
        first = login(user)["refresh"]
        refresh(first)

        refresh(first)

        assert protected(other["access"]).status_code == 200
        assert refresh(other["refresh"]).status_code == 200


class TestLogout:
    def test_the_access_token_used_to_log_out_is_revoked(self, user):
        pair = login(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        client.post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json")

        response = protected(pair["access"])

        assert response.status_code == 401
        assert set(response.json()) == {"error", "message"}

    def test_another_sessions_access_token_still_works(self, user):
        other = login(user)
        pair = login(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        client.post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json")

        assert protected(other["access"]).status_code == 200
