"""Role permissions: one allowed and one refused case each."""

import pytest
from rest_framework.test import APIClient

from security.permissions import IsAdminRole, IsUserRole, user_role
from security.views import ProtectedView
from tests.conftest import bearer_client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.error_urls")]


def test_a_staff_user_is_admin(admin):
    assert user_role(admin) == "admin"


def test_a_non_staff_user_is_user(user):
    assert user_role(user) == "user"


class TestIsAdminRole:
    def test_admin_is_allowed(self, admin):
        assert bearer_client(admin).get("/test/admin-only").status_code == 200

    def test_user_is_forbidden(self, user):
        response = bearer_client(user).get("/test/admin-only")

        assert response.status_code == 403
        assert response.json() == {
            "error": "Forbidden",
            "message": IsAdminRole.message,
        }

    def test_anonymous_is_unauthorized(self):
        assert APIClient().get("/test/admin-only").status_code == 401


class TestIsUserRole:
    def test_user_is_allowed(self, user):
        assert bearer_client(user).get("/api/v1/auth/protected").status_code == 200

    def test_anonymous_is_unauthorized(self):
        assert APIClient().get("/api/v1/auth/protected").status_code == 401

    def test_it_guards_the_protected_route(self):
        assert ProtectedView.permission_classes == [IsUserRole]
