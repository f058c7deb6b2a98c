"""Decrypting 200 small field values: Fernet against the AEADs of ``cryptography``.

Each scheme encrypts 200 phone-number- and email-sized values once, then
decrypts all of them ``--rounds`` times; the best round is printed in
microseconds per value. Fernet is what ``security.crypto`` stored before
(base64 text of AES-128-CBC + HMAC-SHA256); the AEADs are sketched as bare
nonce + ciphertext in urlsafe base64; the last line is ``security.crypto``
itself (AES-256-GCM with a version byte and key id, keys looked up from
the settings on every call), two keys configured.

    .venv/bin/python bench/field_crypto.py
"""

from __future__ import annotations

import argparse
import base64
import os
import time

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

VALUES = [f"+2547{n:08d}" if n % 2 else f"contact{n}@example.com" for n in range(200)]


def _aead(cipher) -> tuple:
    def encrypt(text: str) -> str:
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, text.encode(), None)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(token: str) -> str:
        raw = base64.urlsafe_b64decode(token)
        return cipher.decrypt(raw[:12], raw[12:], None).decode()

    return encrypt, decrypt


def _schemes() -> dict[str, tuple]:
    fernet = Fernet(Fernet.generate_key())
    multi = MultiFernet([fernet, Fernet(Fernet.generate_key())])
    return {
        "Fernet": (
            lambda t: fernet.encrypt(t.encode()).decode(),
            lambda s: fernet.decrypt(s.encode()).decode(),
        ),
        "MultiFernet (primary key)": (
            lambda t: multi.encrypt(t.encode()).decode(),
            lambda s: multi.decrypt(s.encode()).decode(),
        ),
        "AESGCM-128": _aead(AESGCM(AESGCM.generate_key(bit_length=128))),
        "AESGCM-256": _aead(AESGCM(AESGCM.generate_key(bit_length=256))),
        "ChaCha20Poly1305": _aead(ChaCha20Poly1305(ChaCha20Poly1305.generate_key())),
        "security.crypto (stored)": _project(),
    }


def _project() -> tuple:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from django.conf import settings

    if not settings.configured:
        keys = [Fernet.generate_key().decode() for _ in range(2)]
        settings.configure(FIELD_ENCRYPTION_KEYS=keys)
    from security.crypto import decrypt, encrypt

    return encrypt, decrypt


def main() -> None:
    """Print microseconds per decrypted value, best of ``--rounds``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    for name, (encrypt, decrypt) in _schemes().items():
        tokens = [encrypt(value) for value in VALUES]
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            plain = [decrypt(token) for token in tokens]
            best = min(best, time.process_time() - started)
        assert plain == VALUES
        size = sum(map(len, tokens)) / len(tokens)
        per_value = best / len(VALUES) * 1e6
        print(
            f"{name:26} {per_value:6.2f} us/value  {best * 1e3:6.2f} ms/200"
            f"  {size:5.0f} chars/token"
        )


if __name__ == "__main__":
    main()
