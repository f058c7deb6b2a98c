"""Field encryption at rest and keyed blind indexes.

Values are encrypted with ``MultiFernet`` over ``FIELD_ENCRYPTION_KEYS``: the
first key encrypts, every key decrypts, so keys rotate by prepending a new
one, re-encrypting (``rotate_field_keys``) and then dropping the old one.
Exact-match lookups and uniqueness use a blind index, an HMAC-SHA256 of the
normalised value under ``BLIND_INDEX_KEY``, which reveals nothing without the
key and never changes when the Fernet keys rotate.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class UnreadableCiphertext(Exception):
    """A stored value cannot be decrypted with any configured key."""


def _configured_keys() -> tuple[str, ...]:
    raw = settings.FIELD_ENCRYPTION_KEYS
    if isinstance(raw, str):
        raw = raw.split(",")
    keys = tuple(key.strip() for key in raw if key and key.strip())
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must list at least one Fernet key"
        )
    return keys


@lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    """The MultiFernet over ``keys`` and the Fernet of the primary key."""
    try:
        fernets = [Fernet(key.encode()) for key in keys]
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds an invalid Fernet key"
        ) from exc
    return MultiFernet(fernets), fernets[0]


def encrypt(value: str) -> str:
    """Fernet token of ``value`` under the first key of FIELD_ENCRYPTION_KEYS."""
    multi, _ = _fernets(_configured_keys())
    return multi.encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """Plain text of a token made under any configured key.

    Raises UnreadableCiphertext when no configured key opens it.
    """
    return _with_any_key("decrypt", token)


def is_current(token: str) -> bool:
    """True when ``token`` was made under the first (encrypting) key.

    Fernet tokens carry no key id, so this tries the primary key alone; its
    HMAC check fails fast for tokens made under any other key.
    """
    _, primary = _fernets(_configured_keys())
    try:
        primary.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """The same plain text encrypted under the first key.

    Raises UnreadableCiphertext when no configured key opens ``token``.
    """
    return _with_any_key("rotate", token)


def _with_any_key(operation: str, token: str) -> str:
    multi, _ = _fernets(_configured_keys())
    try:
        return getattr(multi, operation)(token.encode()).decode()
    except InvalidToken as exc:
        raise UnreadableCiphertext(
            "No key of FIELD_ENCRYPTION_KEYS decrypts this value"
        ) from exc


def blind_index(value: str) -> str:
    """Hex HMAC-SHA256 of ``value`` under BLIND_INDEX_KEY (64 characters)."""
    key = settings.BLIND_INDEX_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedAttribute(property):
    """A model attribute whose value lives only as ciphertext in ``column``.

    Reading decrypts; writing encrypts and, when ``index`` names a field,
    stores ``blind_index(index_value(value))`` there too, so the index never
    drifts from the value. ``None`` clears both. The plain text is not kept
    on the instance, so a pickled or cached instance holds ciphertext only.
    Being a ``property``, it is accepted as a keyword by the model's
    constructor and by factories.
    """

    def __init__(
        self,
        column: str,
        *,
        index: str | None = None,
        index_value: Callable[[str], str] = str,
    ) -> None:
        super().__init__(self._read, self._write)
        self.column = column
        self.index = index
        self.index_value = index_value

    def _read(self, instance: Any) -> str | None:
        token = getattr(instance, self.column)
        return None if token is None else decrypt(token)

    def _write(self, instance: Any, value: str | None) -> None:
        setattr(instance, self.column, None if value is None else encrypt(value))
        if self.index:
            index = None if value is None else blind_index(self.index_value(value))
            setattr(instance, self.index, index)
