"""Field encryption (AES-GCM under FIELD_ENCRYPTION_KEYS, earlier Fernet
tokens still read) and blind indexes."""

import base64

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from security.crypto import (
    EncryptedAttribute,
    UnreadableCiphertext,
    blind_index,
    decrypt,
    encrypt,
    is_current,
    reencrypt,
)

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


class _Holder:
    secret_encrypted = None
    secret_index = None
    secret = EncryptedAttribute(
        "secret_encrypted", index="secret_index", index_value=str.lower
    )


def test_encrypted_value_decrypts_to_the_original():
    token = encrypt("+254712345678")

    assert decrypt(token) == "+254712345678"


def test_token_does_not_contain_the_plain_text():
    token = encrypt("amina@example.com")

    assert "amina" not in token
    assert "example" not in token


def test_same_value_encrypts_to_different_tokens():
    assert encrypt("+254712345678") != encrypt("+254712345678")


def test_first_key_encrypts():
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        token = encrypt("+254712345678")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert decrypt(token) == "+254712345678"


def test_any_configured_key_decrypts():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt("+254712345678")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert decrypt(token) == "+254712345678"


def test_token_of_a_removed_key_is_unreadable():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt("+254712345678")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(UnreadableCiphertext):
            decrypt(token)


def test_keys_may_be_given_as_a_comma_separated_string():
    with override_settings(FIELD_ENCRYPTION_KEYS=f"{NEW_KEY}, {OLD_KEY}"):
        token = encrypt("x")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert decrypt(token) == "x"


class TestEarlierFernetTokens:
    def test_a_fernet_token_of_a_configured_key_is_read(self):
        token = Fernet(OLD_KEY.encode()).encrypt(b"+254712345678").decode()

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            assert decrypt(token) == "+254712345678"

    def test_a_fernet_token_of_the_first_key_is_not_current(self):
        token = Fernet(NEW_KEY.encode()).encrypt(b"x").decode()

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            assert is_current(token) is False

    def test_reencrypt_turns_a_fernet_token_into_a_current_one(self):
        token = Fernet(OLD_KEY.encode()).encrypt(b"x").decode()

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            rotated = reencrypt(token)
            assert (is_current(rotated), decrypt(rotated)) == (True, "x")

    def test_a_fernet_token_of_a_removed_key_is_unreadable(self):
        token = Fernet(OLD_KEY.encode()).encrypt(b"x").decode()

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            with pytest.raises(UnreadableCiphertext):
                decrypt(token)


def test_an_altered_token_is_unreadable():
    token = encrypt("+254712345678")
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[-1] ^= 1

    with pytest.raises(UnreadableCiphertext):
        decrypt(base64.urlsafe_b64encode(bytes(raw)).decode())


def test_a_token_that_is_not_base64_is_unreadable():
    with pytest.raises(UnreadableCiphertext):
        decrypt("not a token!")


def test_token_of_the_first_key_is_current():
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert is_current(encrypt("x")) is True


def test_token_of_an_older_key_is_not_current():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt("x")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert is_current(token) is False


def test_reencrypt_moves_a_token_under_the_first_key():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt("+254712345678")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        rotated = reencrypt(token)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert decrypt(rotated) == "+254712345678"


def test_reencrypt_of_an_unreadable_token_raises():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt("x")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(UnreadableCiphertext):
            reencrypt(token)


def test_blind_index_is_a_stable_hex_hmac():
    first = blind_index("+254712345678")

    assert first == blind_index("+254712345678")
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_blind_index_differs_per_value():
    assert blind_index("+254712345678") != blind_index("+254712345679")


def test_blind_index_depends_on_the_key():
    with override_settings(BLIND_INDEX_KEY="a" * 40):
        first = blind_index("+254712345678")
    with override_settings(BLIND_INDEX_KEY="b" * 40):
        second = blind_index("+254712345678")

    assert first != second


def test_encrypted_attribute_stores_only_ciphertext_and_index():
    holder = _Holder()

    holder.secret = "Amina@Example.com"

    assert "Amina" not in holder.secret_encrypted
    assert holder.secret_index == blind_index("amina@example.com")
    assert holder.secret == "Amina@Example.com"


def test_encrypted_attribute_set_to_none_clears_column_and_index():
    holder = _Holder()
    holder.secret = "x@example.com"

    holder.secret = None

    assert holder.secret_encrypted is None
    assert holder.secret_index is None
    assert holder.secret is None
