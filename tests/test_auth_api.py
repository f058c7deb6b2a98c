"""§3 authentication end to end: token, refresh, logout, protected, bad tokens."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import httpx
import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from contract.auth import PROTECTED_KEYS, TOKEN_PAIR_KEYS
from security.tokens import SessionRefreshToken
from tests.conftest import bearer_client
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.servers import gunicorn_server

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
LOGOUT_URL = "/api/v1/auth/logout"
PROTECTED_URL = "/api/v1/auth/protected"


def assert_envelope(response, status: int, field: str | None = None) -> dict:
    """``response`` is the §1 error envelope with ``status``, naming ``field``."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) - {"details"} == {"error", "message"}
    if field is not None:
        assert field in body["details"]
        assert field in body["message"]
    return body


def login(client: APIClient, user, password: str = DEFAULT_PASSWORD):
    return client.post(
        TOKEN_URL, {"username": user.username, "password": password}, format="json"
    )


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


class TestTokenObtain:
    def test_valid_credentials_give_the_token_pair_shape(self, api_client, user):
        response = login(api_client, user)

        assert response.status_code == 200
        assert tuple(response.json()) == TOKEN_PAIR_KEYS
        assert response.json()["token_type"] == "Bearer"

    def test_expires_in_is_the_access_token_lifetime(self, api_client, user):
        response = login(api_client, user)

        assert response.json()["expires_in"] == settings.JWT_ACCESS_TTL

    def test_the_access_token_opens_the_protected_route(self, api_client, user):
        access = login(api_client, user).json()["access"]

        response = bearer(access).get(PROTECTED_URL)

        assert response.status_code == 200

    def test_tokens_are_signed_with_the_jwt_key_not_the_secret_key(
        self, api_client, user
    ):
        access = login(api_client, user).json()["access"]

        claims = jwt.decode(access, settings.JWT_SIGNING_KEY, algorithms=["HS256"])

        assert claims["token_type"] == "access"
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(access, settings.SECRET_KEY, algorithms=["HS256"])

    def test_wrong_password_is_unauthorized(self, api_client, user):
        response = login(api_client, user, password="not-the-password")

        body = assert_envelope(response, 401)
        assert body["message"] == "Invalid username or password"

    def test_unknown_user_is_unauthorized(self, api_client):
        response = api_client.post(
            TOKEN_URL, {"username": "nobody", "password": "whatever"}, format="json"
        )

        assert_envelope(response, 401)

    def test_inactive_user_is_unauthorized(self, api_client):
        user = UserFactory(is_active=False)

        response = login(api_client, user)

        assert_envelope(response, 401)

    def test_a_stale_authorization_header_does_not_block_login(self, user):
        client = bearer("not-a-token")

        response = login(client, user)

        assert response.status_code == 200

    def test_missing_username_is_a_bad_request_naming_it(self, api_client):
        response = api_client.post(TOKEN_URL, {"password": "x"}, format="json")

        assert_envelope(response, 400, field="username")

    def test_missing_password_is_a_bad_request_naming_it(self, api_client):
        response = api_client.post(TOKEN_URL, {"username": "x"}, format="json")

        assert_envelope(response, 400, field="password")

    def test_non_string_password_is_a_bad_request_naming_it(self, api_client):
        response = api_client.post(
            TOKEN_URL, {"username": "x", "password": 12345678}, format="json"
        )

        assert_envelope(response, 400, field="password")

    def test_nul_byte_in_username_is_a_bad_request(self, api_client):
        response = api_client.post(
            TOKEN_URL, {"username": "ad\x00min", "password": "x"}, format="json"
        )

        assert_envelope(response, 400, field="username")

    def test_oversize_username_is_a_bad_request(self, api_client):
        response = api_client.post(
            TOKEN_URL, {"username": "u" * 151, "password": "x"}, format="json"
        )

        assert_envelope(response, 400, field="username")

    def test_a_password_holding_a_tab_logs_in(self, api_client):
        user = UserFactory(password="tab\tin the middle")

        response = login(api_client, user, password="tab\tin the middle")

        assert response.status_code == 200

    def test_a_password_holding_any_control_character_but_nul_logs_in(self, api_client):
        password = "".join(chr(n) for n in range(1, 32)) + "\x7fend"
        user = UserFactory(password=password)

        response = login(api_client, user, password=password)

        assert response.status_code == 200

    def test_nul_byte_in_password_is_a_bad_request(self, api_client, user):
        response = login(api_client, user, password="correct\x00horse")

        assert_envelope(response, 400, field="password")

    def test_a_tab_in_the_username_is_still_a_bad_request(self, api_client):
        response = api_client.post(
            TOKEN_URL, {"username": "ad\tmin", "password": "x"}, format="json"
        )

        assert_envelope(response, 400, field="username")

    @pytest.mark.parametrize("field", ["username", "password"])
    def test_a_lone_surrogate_is_a_bad_request_naming_the_field(
        self, api_client, field
    ):
        body = {"username": "amina", "password": "pw"}
        body[field] = "ab\ud800"

        response = api_client.post(
            TOKEN_URL,
            data=json.dumps(body),
            content_type="application/json",
        )

        assert_envelope(response, 400, field=field)

    def test_a_json_array_body_is_a_bad_request(self, api_client):
        response = api_client.post(TOKEN_URL, [], format="json")

        assert_envelope(response, 400)

    def test_malformed_json_is_a_bad_request(self, api_client):
        response = api_client.post(
            TOKEN_URL, data='{"username": ', content_type="application/json"
        )

        assert_envelope(response, 400)

    def test_form_encoded_body_is_unsupported_media_type(self, api_client):
        response = api_client.post(
            TOKEN_URL,
            data="username=a&password=b",
            content_type="application/x-www-form-urlencoded",
        )

        assert_envelope(response, 415)


class TestTokenRefresh:
    def test_refresh_gives_a_new_pair(self, api_client, user):
        pair = login(api_client, user).json()

        response = api_client.post(
            REFRESH_URL, {"refresh": pair["refresh"]}, format="json"
        )

        assert response.status_code == 200
        assert tuple(response.json()) == TOKEN_PAIR_KEYS
        assert response.json()["refresh"] != pair["refresh"]

    def test_the_rotated_refresh_token_works(self, api_client, user):
        first = login(api_client, user).json()["refresh"]
        second = api_client.post(REFRESH_URL, {"refresh": first}, format="json").json()[
            "refresh"
        ]

        response = api_client.post(REFRESH_URL, {"refresh": second}, format="json")

        assert response.status_code == 200

    def test_the_old_refresh_token_is_blacklisted(self, api_client, user):
        refresh = login(api_client, user).json()["refresh"]
        api_client.post(REFRESH_URL, {"refresh": refresh}, format="json")

        response = api_client.post(REFRESH_URL, {"refresh": refresh}, format="json")

        assert_envelope(response, 401)
        assert BlacklistedToken.objects.filter(
            token__jti=RefreshToken(refresh, verify=False)["jti"]
        ).exists()

    def test_an_access_token_cannot_refresh(self, api_client, user):
        access = login(api_client, user).json()["access"]

        response = api_client.post(REFRESH_URL, {"refresh": access}, format="json")

        assert_envelope(response, 401)

    def test_an_expired_refresh_token_is_unauthorized(self, api_client, user):
        token = RefreshToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))

        response = api_client.post(REFRESH_URL, {"refresh": str(token)}, format="json")

        assert_envelope(response, 401)

    def test_a_tampered_refresh_token_is_unauthorized(self, api_client, user):
        refresh = str(RefreshToken.for_user(user))

        response = api_client.post(
            REFRESH_URL, {"refresh": tamper(refresh)}, format="json"
        )

        assert_envelope(response, 401)

    def test_refresh_of_a_deactivated_user_is_unauthorized(self, api_client, user):
        refresh = str(RefreshToken.for_user(user))
        user.is_active = False
        user.save()

        response = api_client.post(REFRESH_URL, {"refresh": refresh}, format="json")

        assert_envelope(response, 401)

    def test_refresh_of_a_deleted_user_is_unauthorized(self, api_client, user):
        refresh = str(RefreshToken.for_user(user))
        user.delete()

        response = api_client.post(REFRESH_URL, {"refresh": refresh}, format="json")

        assert_envelope(response, 401)

    def test_missing_refresh_is_a_bad_request_naming_it(self, api_client):
        response = api_client.post(REFRESH_URL, {}, format="json")

        assert_envelope(response, 400, field="refresh")

    def test_non_string_refresh_is_a_bad_request_naming_it(self, api_client):
        response = api_client.post(REFRESH_URL, {"refresh": ["a"]}, format="json")

        assert_envelope(response, 400, field="refresh")


CONCURRENT_REFRESHES = 6


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_one_success():
    refresh = str(SessionRefreshToken.for_session(UserFactory()))
    barrier = threading.Barrier(CONCURRENT_REFRESHES)
    statuses: list[int] = []
    lock = threading.Lock()

    with gunicorn_server(workers=2, threads=4) as base:

        def refresh_once() -> None:
            with httpx.Client(base_url=base, timeout=30.0) as client:
                client.get("/api/v1/health")  # connect before the race starts
                barrier.wait(timeout=30)
                response = client.post(REFRESH_URL, json={"refresh": refresh})
            with lock:
                statuses.append(response.status_code)

        threads = [
            threading.Thread(target=refresh_once) for _ in range(CONCURRENT_REFRESHES)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(statuses) == [200] + [401] * (CONCURRENT_REFRESHES - 1)


class TestLogout:
    def test_logout_answers_no_content(self, api_client, user):
        pair = login(api_client, user).json()

        response = bearer(pair["access"]).post(
            LOGOUT_URL, {"refresh": pair["refresh"]}, format="json"
        )

        assert response.status_code == 204
        assert response.content == b""

    def test_a_logged_out_refresh_token_no_longer_refreshes(self, api_client, user):
        pair = login(api_client, user).json()
        bearer(pair["access"]).post(
            LOGOUT_URL, {"refresh": pair["refresh"]}, format="json"
        )

        response = api_client.post(
            REFRESH_URL, {"refresh": pair["refresh"]}, format="json"
        )

        assert_envelope(response, 401)

    def test_logging_out_twice_is_unauthorized(self, api_client, user):
        pair = login(api_client, user).json()
        client = bearer(pair["access"])
        client.post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json")

        response = client.post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json")

        assert_envelope(response, 401)

    def test_anonymous_logout_is_unauthorized(self, api_client, user):
        refresh = str(RefreshToken.for_user(user))

        response = api_client.post(LOGOUT_URL, {"refresh": refresh}, format="json")

        assert_envelope(response, 401)

    def test_another_users_refresh_token_is_forbidden(self, user_client):
        refresh = str(RefreshToken.for_user(UserFactory()))

        response = user_client.post(LOGOUT_URL, {"refresh": refresh}, format="json")

        assert_envelope(response, 403)

    def test_missing_refresh_is_a_bad_request_naming_it(self, user_client):
        response = user_client.post(LOGOUT_URL, {}, format="json")

        assert_envelope(response, 400, field="refresh")


def tamper(token: str) -> str:
    """``token`` with one character of its payload changed."""
    header, payload, signature = token.split(".")
    flipped = "A" if payload[10] != "A" else "B"
    return f"{header}.{payload[:10]}{flipped}{payload[11:]}.{signature}"


class TestProtected:
    def test_a_user_gets_the_user_role(self, user_client, user):
        response = user_client.get(PROTECTED_URL)

        assert response.status_code == 200
        assert response.json() == {
            "message": "Access granted to protected resource",
            "user": user.username,
            "role": "user",
        }

    def test_an_admin_gets_the_admin_role(self, admin_client):
        response = admin_client.get(PROTECTED_URL)

        assert tuple(response.json()) == PROTECTED_KEYS
        assert response.json()["role"] == "admin"

    def test_no_token_is_unauthorized(self, api_client):
        response = api_client.get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_unauthorized_answers_name_the_bearer_scheme(self, api_client):
        response = api_client.get(PROTECTED_URL)

        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize(
        "header",
        ["Bearer", "Bearer not.a.jwt", "Bearer a b", "Basic dXNlcjpwYXNz", "Token abc"],
    )
    def test_a_malformed_authorization_header_is_unauthorized(self, api_client, header):
        api_client.credentials(HTTP_AUTHORIZATION=header)

        response = api_client.get(PROTECTED_URL)

        assert_envelope(response, 401)

    @pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
    def test_the_scheme_name_is_case_insensitive(self, user, scheme):
        client = APIClient()
        token = AccessToken.for_user(user)
        client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")

        response = client.get(PROTECTED_URL)

        assert response.status_code == 200
        assert response.json()["user"] == user.username

    def test_a_lower_case_scheme_with_a_bad_token_is_unauthorized(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="bearer not.a.jwt")

        response = api_client.get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_an_expired_access_token_is_unauthorized(self, user):
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))

        response = bearer(str(token)).get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_a_tampered_access_token_is_unauthorized(self, user):
        token = str(AccessToken.for_user(user))

        response = bearer(tamper(token)).get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_an_unsigned_alg_none_token_is_unauthorized(self, user):
        claims = dict(AccessToken.for_user(user).payload)
        unsigned = jwt.encode(claims, key=None, algorithm="none")

        response = bearer(unsigned).get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_a_token_signed_with_another_key_is_unauthorized(self, user):
        claims = dict(AccessToken.for_user(user).payload)
        forged = jwt.encode(
            claims, key="some-other-key-of-enough-length-32b", algorithm="HS256"
        )

        response = bearer(forged).get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_a_refresh_token_is_not_an_access_token(self, user):
        refresh = str(RefreshToken.for_user(user))

        response = bearer(refresh).get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_a_user_deactivated_after_issue_is_unauthorized(self, user):
        client = bearer_client(user)
        user.is_active = False
        user.save()

        response = client.get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_a_deleted_users_token_is_unauthorized(self, user):
        client = bearer_client(user)
        user.delete()

        response = client.get(PROTECTED_URL)

        assert_envelope(response, 401)

    def test_an_admin_demoted_after_issue_gets_the_user_role(self):
        admin = AdminFactory()
        client = bearer_client(admin)
        admin.is_staff = False
        admin.save()

        response = client.get(PROTECTED_URL)

        assert response.json()["role"] == "user"
