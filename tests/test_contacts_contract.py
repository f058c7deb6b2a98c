"""Contact shapes and payload parsing of the v1 contract (no database)."""

from datetime import UTC, datetime

import pytest

from contacts.tests.factories import ContactFactory
from contract.contacts import (
    CONTACT_KEYS,
    CONTACT_META_KEYS,
    contact_list_body,
    contact_to_dict,
    parse_contact_id,
    parse_contact_list_query,
    parse_contact_payload,
)
from contract.errors import Invalid

MOMENT = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
KNOWN_PARAMS = ["limit", "offset", "sort", "order", "name", "phone", "email", "cursor"]


def _contact(**overrides):
    fields = {
        "pk": 7,
        "name": "Amina Otieno",
        "phone": "+254712345678",
        "email": "amina@example.com",
        "created_at": MOMENT,
        "updated_at": MOMENT,
    }
    fields.update(overrides)
    return ContactFactory.build(**fields)


class TestContactToDict:
    def test_contact_has_the_six_public_keys(self):
        assert tuple(contact_to_dict(_contact())) == CONTACT_KEYS

    def test_values_are_the_plain_ones_with_utc_timestamps(self):
        body = contact_to_dict(_contact())

        assert body == {
            "id": 7,
            "name": "Amina Otieno",
            "phone": "+254712345678",
            "email": "amina@example.com",
            "created_at": "2026-01-14T10:00:00Z",
            "updated_at": "2026-01-14T10:00:00Z",
        }

    def test_contact_without_email_keeps_the_email_key_as_none(self):
        body = contact_to_dict(_contact(email=None))

        assert tuple(body) == CONTACT_KEYS
        assert body["email"] is None

    def test_ciphertext_and_indexes_never_leak(self):
        body = contact_to_dict(_contact())

        assert not {"phone_encrypted", "phone_index", "email_index"} & set(body)


class TestContactListBody:
    def test_listing_has_contacts_and_meta(self):
        body = contact_list_body(
            [_contact()], total=1, limit=10, offset=0, next_cursor=None, next_url=None
        )

        assert body == {
            "contacts": [contact_to_dict(_contact())],
            "meta": {
                "total": 1,
                "limit": 10,
                "offset": 0,
                "next_cursor": None,
                "next": None,
            },
        }

    def test_empty_listing_keeps_the_same_shape(self):
        body = contact_list_body(
            [], total=0, limit=10, offset=0, next_cursor=None, next_url=None
        )

        assert body["contacts"] == []
        assert tuple(body["meta"]) == CONTACT_META_KEYS

    def test_next_page_url_is_given_in_meta(self):
        url = "http://testserver/api/v1/contacts?cursor=abc"

        body = contact_list_body(
            [_contact()], total=2, limit=1, offset=0, next_cursor="abc", next_url=url
        )

        assert body["meta"]["next"] == url


class TestParseContactPayload:
    def test_known_fields_are_picked_and_unknown_dropped(self):
        data = {"name": "Amina", "phone": "+254712345678", "id": 9, "phone_index": "x"}

        assert parse_contact_payload(data, partial=False) == {
            "name": "Amina",
            "phone": "+254712345678",
        }

    @pytest.mark.parametrize("data", [[], "text", 5, None, [{"name": "Amina"}]])
    def test_body_must_be_an_object(self, data):
        with pytest.raises(Invalid) as caught:
            parse_contact_payload(data, partial=False)

        assert caught.value.message == "Request body must be a JSON object"

    def test_name_and_phone_are_required_on_create(self):
        with pytest.raises(Invalid) as caught:
            parse_contact_payload({}, partial=False)

        assert caught.value.details == {
            "name": ["Name is required"],
            "phone": ["Phone is required"],
        }

    def test_nothing_is_required_on_partial_update(self):
        assert parse_contact_payload({"email": None}, partial=True) == {"email": None}

    @pytest.mark.parametrize(
        "value", [5, 1.5, True, ["Amina"], {"first": "Amina"}, None]
    )
    def test_name_must_be_a_string(self, value):
        with pytest.raises(Invalid) as caught:
            parse_contact_payload(
                {"name": value, "phone": "+254712345678"}, partial=False
            )

        assert caught.value.details == {"name": ["Name must be a string"]}
        assert "Name" in caught.value.message

    def test_phone_must_be_a_string(self):
        with pytest.raises(Invalid) as caught:
            parse_contact_payload({"phone": 254712345678}, partial=True)

        assert caught.value.details == {"phone": ["Phone must be a string"]}

    def test_email_must_be_a_string_or_null(self):
        with pytest.raises(Invalid) as caught:
            parse_contact_payload({"email": ["a@example.com"]}, partial=True)

        assert caught.value.details == {"email": ["Email must be a string or null"]}


class TestParseContactListQuery:
    def test_absent_parameters_are_left_out(self):
        assert parse_contact_list_query({}) == {}

    def test_limit_and_offset_become_integers(self):
        assert parse_contact_list_query({"limit": "5", "offset": "10"}) == {
            "limit": 5,
            "offset": 10,
        }

    def test_unknown_parameters_are_ignored(self):
        assert parse_contact_list_query({"page": "\x00", "sort": "name"}) == {
            "sort": "name"
        }

    @pytest.mark.parametrize("value", ["abc", "-1", "+5", " 5", "1.5", "٥", "9" * 10])
    def test_limit_must_be_a_whole_number(self, value):
        with pytest.raises(Invalid) as caught:
            parse_contact_list_query({"limit": value})

        assert caught.value.details == {
            "limit": ["limit must be an integer between 1 and 1000"]
        }

    def test_offset_must_be_a_whole_number(self):
        with pytest.raises(Invalid) as caught:
            parse_contact_list_query({"offset": "x"})

        assert caught.value.field == "offset"

    @pytest.mark.parametrize("param", KNOWN_PARAMS)
    def test_nul_in_a_known_parameter_is_named(self, param):
        with pytest.raises(Invalid) as caught:
            parse_contact_list_query({param: "a\x00"})

        assert caught.value.field == param
        assert param in caught.value.message

    @pytest.mark.parametrize("param", KNOWN_PARAMS)
    @pytest.mark.parametrize("value", ["", "  "])
    def test_empty_known_parameter_is_named(self, param, value):
        with pytest.raises(Invalid) as caught:
            parse_contact_list_query({param: value})

        assert caught.value.details == {param: [f"{param} must not be empty"]}

    def test_empty_unknown_parameter_is_ignored(self):
        assert parse_contact_list_query({"page": "", "sort": "id"}) == {"sort": "id"}

    def test_phone_plus_decoded_as_a_space_is_restored(self):
        assert parse_contact_list_query({"phone": " 254712345678"}) == {
            "phone": "+254712345678"
        }


class TestParseContactId:
    @pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("42", 42), ("007", 7)])
    def test_ascii_digits_are_the_id(self, raw, expected):
        assert parse_contact_id(raw) == expected

    def test_an_id_beyond_64_bits_is_kept_for_the_lookup(self):
        assert parse_contact_id(str(10**30)) == 10**30

    @pytest.mark.parametrize(
        "raw", ["-1", "+1", "abc", "1.5", "1e3", " 1", "٥", "", "9" * 5000]
    )
    def test_anything_else_is_no_id(self, raw):
        assert parse_contact_id(raw) is None
