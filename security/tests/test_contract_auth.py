"""Pure shapes and parsers of the authentication routes (no database)."""

import pytest

from contract.auth import (
    PROTECTED_KEYS,
    TOKEN_PAIR_KEYS,
    parse_credentials_payload,
    parse_refresh_payload,
    protected_body,
    token_pair_body,
)
from contract.errors import Invalid


def test_a_token_pair_has_the_four_keys_in_order():
    body = token_pair_body(access="a", refresh="r", expires_in=86400)

    assert tuple(body) == TOKEN_PAIR_KEYS
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 86400)


def test_the_protected_body_names_user_and_role():
    body = protected_body(username="amina", role="user")

    assert tuple(body) == PROTECTED_KEYS
    assert body["message"] == "Access granted to protected resource"


def test_credentials_parse_to_username_and_password():
    parsed = parse_credentials_payload(
        {"username": "amina", "password": "pw", "extra": 1}
    )

    assert parsed == {"username": "amina", "password": "pw"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"password": "pw"}, "username"),
        ({"username": "amina"}, "password"),
        ({"username": 7, "password": "pw"}, "username"),
        ({"username": "amina", "password": ""}, "password"),
        ({"username": "am\x00ina", "password": "pw"}, "username"),
        ({"username": "amina", "password": "p" * 1025}, "password"),
    ],
)
def test_bad_credentials_name_the_field(data, field):
    with pytest.raises(Invalid) as caught:
        parse_credentials_payload(data)

    assert list(caught.value.details) == [field]
    assert field in caught.value.message


@pytest.mark.parametrize("password", ["tab\there", "new\nline", "\x01\x1f\x7f"])
def test_a_password_may_hold_control_characters(password):
    parsed = parse_credentials_payload({"username": "amina", "password": password})

    assert parsed["password"] == password


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "amina", "password": "pass\x00word"}, "password"),
        ({"username": "am\tina", "password": "pw"}, "username"),
        ({"username": "amina", "password": "pw\ud800"}, "password"),
        ({"username": "am\udfffina", "password": "pw"}, "username"),
    ],
)
def test_unusable_credentials_are_invalid_naming_the_field(data, field):
    with pytest.raises(Invalid) as caught:
        parse_credentials_payload(data)

    assert list(caught.value.details) == [field]


def test_a_refresh_token_holding_a_control_character_is_invalid():
    with pytest.raises(Invalid) as caught:
        parse_refresh_payload({"refresh": "abc\tdef"})

    assert caught.value.field == "refresh"


@pytest.mark.parametrize("data", [[], "text", None, 3])
def test_a_body_that_is_not_an_object_is_invalid(data):
    with pytest.raises(Invalid):
        parse_credentials_payload(data)


def test_a_refresh_payload_gives_the_token():
    assert parse_refresh_payload({"refresh": "abc"}) == "abc"


def test_a_missing_refresh_names_the_field():
    with pytest.raises(Invalid) as caught:
        parse_refresh_payload({})

    assert caught.value.field == "refresh"
