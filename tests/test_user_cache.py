"""Bearer authentication from each worker's copies of tokens and users,
and their invalidation."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from tests.conftest import bearer_client
from tests.factories import UserFactory
from tests.servers import free_port, gunicorn_server

PROTECTED_URL = "/api/v1/auth/protected"

pytestmark = pytest.mark.django_db


class TestCachedUser:
    def test_a_known_user_is_authenticated_without_a_query(
        self, user_client, django_assert_num_queries
    ):
        user_client.get(PROTECTED_URL)

        with django_assert_num_queries(0):
            response = user_client.get(PROTECTED_URL)

        assert response.status_code == 200

    def test_a_deactivated_user_is_refused_at_once(self, user_client, user):
        user_client.get(PROTECTED_URL)
        user.is_active = False
        user.save()

        response = user_client.get(PROTECTED_URL)

        assert response.status_code == 401

    def test_a_deleted_user_is_refused_at_once(self, user_client, user):
        user_client.get(PROTECTED_URL)
        user.delete()

        response = user_client.get(PROTECTED_URL)

        assert response.status_code == 401

    def test_a_new_role_shows_at_once(self, user_client, user):
        user_client.get(PROTECTED_URL)
        user.is_staff = True
        user.save()

        response = user_client.get(PROTECTED_URL)

        assert response.json()["role"] == "admin"

    def test_a_new_username_shows_at_once(self, user_client, user):
        user_client.get(PROTECTED_URL)
        user.username = "renamed"
        user.save()

        response = user_client.get(PROTECTED_URL)

        assert response.json()["user"] == "renamed"

    def test_a_password_change_revokes_tokens_carrying_the_old_hash(
        self, settings, user
    ):
        settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "CHECK_REVOKE_TOKEN": True}
        token = RefreshToken.for_user(user).access_token
        token["hash_password"] = get_md5_hash_password(user.password)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        before = client.get(PROTECTED_URL).status_code
        user.set_password("another-long-passphrase-42")
        user.save()

        after = client.get(PROTECTED_URL).status_code

        assert (before, after) == (200, 401)

    def test_a_permission_cached_by_one_request_is_not_seen_by_the_next(
        self, user_client, user
    ):
        from security.user_cache import user_get_cached

        first = user_get_cached(user_id=user.pk)
        first.has_perm("contacts.view_contact_pii")

        second = user_get_cached(user_id=user.pk)

        assert not hasattr(second, "_perm_cache")

    def test_an_unreadable_cache_falls_back_to_the_database(self, settings, user):
        settings.CACHES = {
            **settings.CACHES,
            "shared": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
            },
        }

        response = bearer_client(user).get(PROTECTED_URL)

        assert response.status_code == 200


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_deactivation_reaches_every_worker_at_once():
    user = UserFactory()
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}

    with gunicorn_server(workers=2, threads=1) as base:
        warmed = [
            httpx.get(f"{base}{PROTECTED_URL}", headers=headers).status_code
            for _ in range(4)
        ]
        user.is_active = False
        user.save()
        after = [
            httpx.get(f"{base}{PROTECTED_URL}", headers=headers).status_code
            for _ in range(4)
        ]

    assert (warmed, after) == ([200] * 4, [401] * 4)


@pytest.mark.django_db(transaction=True)
def test_a_queryset_update_of_a_user_is_seen_at_once():
    user = UserFactory()
    client = bearer_client(user)
    before = client.get(PROTECTED_URL).status_code
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)

    after = client.get(PROTECTED_URL).status_code

    assert (before, after) == (200, 401)


class TestRememberedTokens:
    def test_a_token_seen_before_is_refused_once_it_expires(self, user):
        token = RefreshToken.for_user(user).access_token
        token.set_exp(lifetime=timedelta(seconds=3))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        before = client.get(PROTECTED_URL).status_code
        time.sleep(max(0.0, token["exp"] - time.time()) + 0.1)

        after = client.get(PROTECTED_URL)

        assert (before, after.status_code) == (200, 401)

    def test_past_the_bound_the_oldest_token_is_forgotten(self, user, monkeypatch):
        from security import authentication

        monkeypatch.setattr(authentication, "VALIDATED_TOKENS", 2)
        monkeypatch.setattr(authentication, "_validated", {})
        tokens = [str(RefreshToken.for_user(user).access_token) for _ in range(3)]
        for token in tokens:
            APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get(PROTECTED_URL)

        assert list(authentication._validated) == [t.encode() for t in tokens[1:]]

    def test_an_altered_copy_of_a_token_seen_before_is_refused(self, user):
        token = str(RefreshToken.for_user(user).access_token)
        good = APIClient()
        good.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        good.get(PROTECTED_URL)
        altered = APIClient()
        altered.credentials(HTTP_AUTHORIZATION=f"Bearer {token[:-2]}AA")

        response = altered.get(PROTECTED_URL)

        assert response.status_code == 401
