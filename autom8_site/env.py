"""Typed readers for environment variables and the development secret store.

Every setting Autom8 reads from the environment goes through one of these
helpers, so a malformed value stops start-up with ``ImproperlyConfigured``
naming the variable instead of failing later in a request. A variable set
but empty (``NAME=`` in a sourced ``.env.example``) counts as unset: its
default applies.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from security.files import FILE_MODE, narrow, private_dir, private_fd, private_open

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
REDIS_SCHEMES = ("redis", "rediss", "unix")


def _raw(name: str) -> str | None:
    """The variable stripped, or None when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or None


def env_str(name: str, default: str | None = None) -> str:
    """The variable as text; ``default`` when unset or empty. Raises when required."""
    value = _raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} is required but not set")
        return default
    return value


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """The variable as an integer; ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    """The variable as a boolean (1/0, true/false, yes/no, on/off)."""
    raw = _raw(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """The variable as a comma-separated list, blanks dropped."""
    raw = _raw(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """The variable, which must be one of ``choices``."""
    value = env_str(name, default).lower()
    if value not in choices:
        allowed = ", ".join(choices)
        raise ImproperlyConfigured(f"{name} must be one of {allowed}, got {value!r}")
    return value


def env_database(name: str, default: str, **options) -> dict:
    """The variable parsed by dj-database-url into a ``DATABASES`` entry.

    The value is not repeated in the error: it may hold a password.
    """
    import dj_database_url

    try:
        return dj_database_url.parse(env_str(name, default), **options)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} is not a database URL Autom8 can use "
            "(e.g. postgres://user@host:5432/autom8 or sqlite:///path/to/db)"
        ) from None


def env_redis_url(name: str) -> str:
    """The variable as a Redis URL, or ``""`` when unset.

    The value is not repeated in the error: it may hold a password.
    """
    value = env_str(name, "")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in REDIS_SCHEMES or not (parts.netloc or parts.path):
        raise ImproperlyConfigured(
            f"{name} is not a Redis URL (redis://host:6379/0, rediss://... or "
            "unix:///path/to/socket)"
        )
    return value


# --- secrets -----------------------------------------------------------------


def _token() -> str:
    return secrets.token_urlsafe(48)


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _check_long(name: str, value: str) -> None:
    if len(value) < 32:
        raise ImproperlyConfigured(f"{name} must be at least 32 characters long")


def _check_secret_key(name: str, value: str) -> None:
    if len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            f"{name} must be at least 50 random characters (not 'django-insecure-')"
        )


def _check_fernet_keys(name: str, value: str) -> None:
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured(f"{name} must list at least one Fernet key")
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"{name} key #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)"
            )


SECRET_SPECS: dict[str, tuple[Callable[[], str], Callable[[str, str], None]]] = {
    "SECRET_KEY": (lambda: secrets.token_urlsafe(64), _check_secret_key),
    "JWT_SIGNING_KEY": (_token, _check_long),
    "RESPONSE_SIGNING_KEY": (_token, _check_long),
    "BLIND_INDEX_KEY": (_token, _check_long),
    "FIELD_ENCRYPTION_KEYS": (_fernet_key, _check_fernet_keys),
}


def load_secrets(*, production: bool, var_dir: Path) -> dict[str, str]:
    """Every secret, validated: from the environment, else (development only)
    from ``var/secrets.json``, generated there once with mode 0600."""
    values = {
        name: os.environ[name].strip()
        for name in SECRET_SPECS
        if os.environ.get(name, "").strip()
    }
    missing = [name for name in SECRET_SPECS if name not in values]
    if missing and production:
        raise ImproperlyConfigured(
            f"{missing[0]} is not set: production needs it in the environment"
        )
    if missing:
        stored = _dev_secrets(var_dir)
        values.update({name: stored[name] for name in missing})
    for name, (_, check) in SECRET_SPECS.items():
        check(name, values[name])
    return values


def _dev_secrets(var_dir: Path) -> dict[str, str]:
    """Read, completing if needed, the git-ignored development secrets file.

    A file lock serialises the first start of several processes (gunicorn
    workers, the scheduler) so all of them end up with the same keys.
    """
    private_dir(var_dir)
    path = var_dir / "secrets.json"
    lock_path = var_dir / ".secrets.lock"
    with os.fdopen(private_fd(lock_path, os.O_WRONLY | os.O_APPEND), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = json.loads(path.read_text()) if path.exists() else {}
        absent = [name for name in SECRET_SPECS if not stored.get(name)]
        if absent:
            stored.update({name: SECRET_SPECS[name][0]() for name in absent})
            tmp = path.with_suffix(".tmp")
            with private_open(tmp) as handle:
                handle.write(json.dumps(stored, indent=2).encode())
            os.replace(tmp, path)
        narrow(path, FILE_MODE)
    return stored
