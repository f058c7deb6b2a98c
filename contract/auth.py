"""Shapes and payload parsers of the authentication routes (§3)."""

from __future__ import annotations

from contract.errors import Invalid
from contract.text import refuse_control_characters

TOKEN_PAIR_KEYS = ("access", "refresh", "token_type", "expires_in")
PROTECTED_KEYS = ("message", "user", "role")
PROTECTED_MESSAGE = "Access granted to protected resource"

# Django's username column is 150 characters; passwords and tokens are
# bounded so a huge body cannot make hashing or decoding expensive.
USERNAME_MAX = 150
PASSWORD_MAX = 1024
TOKEN_MAX = 4096


def token_pair_body(*, access: str, refresh: str, expires_in: int) -> dict:
    """``POST auth/token`` and ``auth/token/refresh``: a bearer token pair."""
    return {
        "access": access,
        "refresh": refresh,
        "token_type": "Bearer",  # nosec B105  # the scheme name
        "expires_in": int(expires_in),
    }


def protected_body(*, username: str, role: str) -> dict:
    """``GET auth/protected``: who the caller is and their role."""
    return {"message": PROTECTED_MESSAGE, "user": username, "role": role}


def _object(data: object) -> dict:
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    return data


def _text(data: dict, field: str, *, maximum: int) -> str:
    value = data.get(field)
    if value is None:
        raise Invalid(f"{field} is required", field=field)
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string", field=field)
    if not value:
        raise Invalid(f"{field} must not be empty", field=field)
    if len(value) > maximum:
        raise Invalid(f"{field} must be at most {maximum} characters", field=field)
    # A lone surrogate (JSON "\ud800") cannot be encoded to UTF-8 for hashing,
    # a query or a token check.
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise Invalid(f"{field} must be valid Unicode text", field=field)
    return value


def _plain_text(data: dict, field: str, *, maximum: int) -> str:
    value = _text(data, field, maximum=maximum)
    # Usernames and tokens never hold control characters.
    return refuse_control_characters(value, field=field)


def _password(data: dict) -> str:
    value = _text(data, "password", maximum=PASSWORD_MAX)
    # Any character may be part of a password (tabs included) but NUL, which
    # Django's forms refuse: no stored password holds one.
    if "\x00" in value:
        raise Invalid("password must not contain NUL bytes", field="password")
    return value


def parse_credentials_payload(data: object) -> dict:
    """``{"username", "password"}`` from a token request; raises Invalid.

    The username holds no control characters; the password may hold any
    character but NUL.
    """
    body = _object(data)
    return {
        "username": _plain_text(body, "username", maximum=USERNAME_MAX),
        "password": _password(body),
    }


def parse_refresh_payload(data: object) -> str:
    """The ``refresh`` token of a refresh or logout request; raises Invalid."""
    return _plain_text(_object(data), "refresh", maximum=TOKEN_MAX)
