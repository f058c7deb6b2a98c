"""The response signature helpers clients reuse."""

import hashlib
import hmac

from security.integrity import (
    header_value,
    parse_header,
    sign,
    sign_chunks,
    verify_integrity,
)

KEY = "response-signing-key"
BODY = b'{"status": "healthy"}'
T = 1768384800


def signed_headers(body: bytes = BODY, t: int = T, key: str = KEY) -> dict:
    return {"X-Autom8-Integrity": header_value(t, sign(body, key, t))}


def test_the_signature_is_hmac_sha256_of_time_dot_body():
    expected = hmac.new(
        KEY.encode(), f"{T}.".encode() + BODY, hashlib.sha256
    ).hexdigest()

    assert sign(BODY, KEY, T) == expected


def test_signing_in_chunks_equals_signing_at_once():
    assert sign_chunks([BODY[:5], BODY[5:]], KEY, T) == sign(BODY, KEY, T)


def test_the_header_reads_t_then_v1():
    assert header_value(T, "ab12") == f"t={T},v1=ab12"


def test_a_header_parses_back():
    assert parse_header(f"t={T},v1=ab12") == (T, "ab12")


def test_a_malformed_header_does_not_parse():
    assert parse_header("v1=ab12") is None


def test_a_genuine_body_verifies():
    assert verify_integrity(signed_headers(), BODY, KEY)


def test_header_names_are_case_insensitive():
    headers = {"x-autom8-integrity": signed_headers()["X-Autom8-Integrity"]}

    assert verify_integrity(headers, BODY, KEY)


def test_an_altered_body_does_not_verify():
    assert not verify_integrity(signed_headers(), BODY + b" ", KEY)


def test_the_wrong_key_does_not_verify():
    assert not verify_integrity(signed_headers(), BODY, "other-key")


def test_an_altered_timestamp_does_not_verify():
    signature = sign(BODY, KEY, T)

    assert not verify_integrity(
        {"X-Autom8-Integrity": header_value(T + 1, signature)}, BODY, KEY
    )


def test_a_missing_header_does_not_verify():
    assert not verify_integrity({}, BODY, KEY)


def test_a_stale_signature_is_refused_with_max_age():
    assert not verify_integrity(signed_headers(), BODY, KEY, max_age=300, now=T + 301)


def test_a_fresh_signature_passes_max_age():
    assert verify_integrity(signed_headers(), BODY, KEY, max_age=300, now=T + 299)
