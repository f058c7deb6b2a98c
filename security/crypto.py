"""Field encryption at rest and keyed blind indexes.

``FIELD_ENCRYPTION_KEYS`` lists Fernet keys (``Fernet.generate_key()``):
the first key encrypts, every key decrypts, so keys rotate by prepending a
new one, re-encrypting (``rotate_field_keys``) and then dropping the old one.

Values are stored as AES-256-GCM tokens: the urlsafe base64 text of

    version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | ciphertext + tag

The AES key is derived from the configured Fernet key with HKDF-SHA256, so
the keys in the environment stay what they were; the key id (the first
four bytes of an HMAC of the derived key) names the key that opens the
token, so decrypting tries one key, not every key. One AEAD call replaces
Fernet's AES-CBC plus HMAC: about six times cheaper per value
(``bench/field_crypto.py``), which is what a page of contacts pays 200 times.

Tokens of the earlier format (Fernet, whose text starts with ``gAAAAA``)
are still read with the same keys; ``is_current`` calls them stale, so
``rotate_field_keys`` rewrites them in the current format.

Exact-match lookups and uniqueness use a blind index, an HMAC-SHA256 of the
normalised value under ``BLIND_INDEX_KEY``, which reveals nothing without the
key and never changes when the encryption keys rotate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = b"\x01"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
_HEADER_BYTES = len(VERSION) + KEY_ID_BYTES
_FERNET_PREFIX = "gAAAAA"  # base64 of Fernet's version byte 0x80 and its timestamp
_HKDF_INFO = b"autom8 field encryption: aes-256-gcm"


class UnreadableCiphertext(Exception):
    """A stored value cannot be decrypted with any configured key."""


@dataclass(frozen=True)
class _Keyring:
    primary_id: bytes
    ciphers: dict[bytes, AESGCM]  # key id -> cipher, primary first
    fernets: MultiFernet  # reads tokens of the earlier format


def _derive(fernet_key: str) -> tuple[bytes, AESGCM]:
    raw = base64.urlsafe_b64decode(fernet_key)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        raw
    )
    key_id = hmac.new(key, b"key id", hashlib.sha256).digest()[:KEY_ID_BYTES]
    return key_id, AESGCM(key)


@lru_cache(maxsize=8)
def _keyring_of(keys: tuple[str, ...]) -> _Keyring:
    try:
        fernets = [Fernet(key.encode()) for key in keys]
        derived = [_derive(key) for key in keys]
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds an invalid Fernet key"
        ) from exc
    ciphers: dict[bytes, AESGCM] = {}
    for key_id, cipher in derived:
        ciphers.setdefault(key_id, cipher)
    return _Keyring(
        primary_id=derived[0][0], ciphers=ciphers, fernets=MultiFernet(fernets)
    )


@lru_cache(maxsize=8)
def _keys_of(raw: str | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = tuple(raw.split(","))
    keys = tuple(key.strip() for key in raw if key and key.strip())
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must list at least one Fernet key"
        )
    return keys


def _keyring() -> _Keyring:
    raw = settings.FIELD_ENCRYPTION_KEYS
    return _keyring_of(_keys_of(raw if isinstance(raw, str) else tuple(raw)))


def encrypt(value: str) -> str:
    """Token of ``value`` under the first key of FIELD_ENCRYPTION_KEYS."""
    keyring = _keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = keyring.ciphers[keyring.primary_id].encrypt(nonce, value.encode(), None)
    return base64.urlsafe_b64encode(
        VERSION + keyring.primary_id + nonce + sealed
    ).decode()


def decrypt(token: str) -> str:
    """Plain text of a token made under any configured key.

    Raises UnreadableCiphertext when no configured key opens it.
    """
    keyring = _keyring()
    if token.startswith(_FERNET_PREFIX):
        try:
            return keyring.fernets.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise _unreadable() from exc
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError) as exc:
        raise _unreadable() from exc
    cipher = keyring.ciphers.get(raw[1:_HEADER_BYTES])
    if raw[:1] != VERSION or cipher is None:
        raise _unreadable()
    nonce_end = _HEADER_BYTES + NONCE_BYTES
    try:
        return cipher.decrypt(
            raw[_HEADER_BYTES:nonce_end], raw[nonce_end:], None
        ).decode()
    except (InvalidTag, ValueError) as exc:
        raise _unreadable() from exc


def is_current(token: str) -> bool:
    """True when ``token`` is in the current format under the first key."""
    if token.startswith(_FERNET_PREFIX):
        return False
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return False
    return raw[:1] == VERSION and raw[1:_HEADER_BYTES] == _keyring().primary_id


def reencrypt(token: str) -> str:
    """The same plain text encrypted under the first key, in the current format.

    Raises UnreadableCiphertext when no configured key opens ``token``.
    """
    return encrypt(decrypt(token))


def _unreadable() -> UnreadableCiphertext:
    return UnreadableCiphertext("No key of FIELD_ENCRYPTION_KEYS decrypts this value")


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
