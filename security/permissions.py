"""Roles of API_CONTRACT.md §1 and the DRF permission classes that enforce them.

``admin`` is a Django ``is_staff`` user, every other authenticated user is
``user``. Anonymous callers get 401 from these classes (DRF turns a refusal
of an unauthenticated request into ``NotAuthenticated``); authenticated
callers whose role may not act get 403.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

ADMIN = "admin"
USER = "user"


def user_role(user) -> str:
    """``"admin"`` for a staff user, else ``"user"``."""
    return ADMIN if getattr(user, "is_staff", False) else USER


def _authenticated(request: Request) -> bool:
    return bool(request.user and request.user.is_authenticated)


class IsUserRole(BasePermission):
    """Any authenticated caller (role ``user`` or ``admin``)."""

    def has_permission(self, request: Request, view) -> bool:
        return _authenticated(request)


class IsAdminRole(BasePermission):
    """Only the ``admin`` role; ``user`` gets 403."""

    message = "This action requires the admin role"

    def has_permission(self, request: Request, view) -> bool:
        return _authenticated(request) and user_role(request.user) == ADMIN
