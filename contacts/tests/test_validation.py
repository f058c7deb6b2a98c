"""The contact field rules shared by the API and the admin."""

import pytest

from contacts.validation import (
    contact_clean,
    normalise_email,
    normalise_name,
    normalise_phone,
)
from contract.errors import Invalid


class TestNormaliseName:
    def test_surrounding_spaces_are_trimmed(self):
        assert normalise_name("  Amina Otieno ") == "Amina Otieno"

    def test_html_special_characters_other_than_angle_brackets_stay_as_typed(self):
        assert normalise_name('O\'Brien & Sons "Ltd"') == 'O\'Brien & Sons "Ltd"'

    def test_two_characters_are_enough(self):
        assert normalise_name("Al") == "Al"

    def test_one_character_after_trimming_is_too_short(self):
        with pytest.raises(Invalid) as caught:
            normalise_name("  A  ")

        assert caught.value.details == {
            "name": ["Name must be 2 to 100 characters long"]
        }

    def test_one_hundred_characters_are_allowed(self):
        assert normalise_name("a" * 100) == "a" * 100

    def test_one_hundred_and_one_characters_are_too_long(self):
        with pytest.raises(Invalid) as caught:
            normalise_name("a" * 101)

        assert "name" in caught.value.details

    @pytest.mark.parametrize(
        "value",
        ["Ami\x00na", "Ami\nna", "Ami\tna", "Ami\x7fna", "Ami\x85na", "Ami\u2028na"],
    )
    def test_control_characters_are_rejected(self, value):
        with pytest.raises(Invalid) as caught:
            normalise_name(value)

        assert caught.value.message == "Name must not contain control characters"

    def test_a_lone_surrogate_is_rejected(self):
        with pytest.raises(Invalid) as caught:
            normalise_name("Ami\ud800na")

        assert caught.value.field == "name"

    @pytest.mark.parametrize(
        "value",
        [
            "Amina\u202eonitO",  # right-to-left override
            "Ami\u200bna",  # zero-width space
            "\ufeffAmina",  # byte order mark
            "Ami\u2066na\u2069",  # left-to-right isolate
            "Ami\u00adna",  # soft hyphen
            "Amina\u200d",  # zero-width joiner with no letter after it
            "Ami \u200cna",  # zero-width non-joiner after a space
        ],
    )
    def test_invisible_format_characters_are_rejected(self, value):
        with pytest.raises(Invalid) as caught:
            normalise_name(value)

        assert caught.value.details == {
            "name": ["Name must not contain invisible formatting characters"]
        }

    @pytest.mark.parametrize(
        "value",
        [
            "José Ñúñez",
            "Zoë Ångström-Ødegård",
            "O'Brien & Sons",
            "D\u2019Angelo",
            "Jean-Luc Picard",
            "王小明",
            "佐藤 花子",
            "김민준",
            "Мария Иванова",
            "محمد علی",
            "\u0645\u06cc\u200c\u0631\u0632\u0627",  # Persian, joined by ZWNJ
            "\u0915\u094d\u200d\u0937",  # Devanagari, joined by ZWJ
            "Nguyễn Văn An",
        ],
    )
    def test_legitimate_names_from_many_scripts_are_kept(self, value):
        assert normalise_name(value) == value

    @pytest.mark.parametrize("value", ["<script>", "a > b", "x<y"])
    def test_angle_brackets_are_rejected(self, value):
        with pytest.raises(Invalid) as caught:
            normalise_name(value)

        assert caught.value.message == "Name must not contain '<' or '>'"

    def test_missing_name_is_required(self):
        with pytest.raises(Invalid) as caught:
            normalise_name(None)

        assert caught.value.message == "Name is required"


class TestNormalisePhone:
    def test_e164_stays_e164(self):
        assert normalise_phone("+254712345678") == "+254712345678"

    def test_international_format_with_spaces_and_dashes_becomes_e164(self):
        assert normalise_phone(" +254 712-345 678 ") == "+254712345678"

    def test_national_format_is_rejected_without_a_default_region(self, settings):
        settings.DEFAULT_PHONE_REGION = None

        with pytest.raises(Invalid) as caught:
            normalise_phone("0712 345 678")

        assert caught.value.message == (
            "Phone must be in international format, e.g. +254712345678"
        )

    def test_national_format_is_accepted_with_a_default_region(self, settings):
        settings.DEFAULT_PHONE_REGION = "KE"

        assert normalise_phone("0712 345 678") == "+254712345678"

    def test_invalid_message_with_a_default_region_names_phone_and_region(
        self, settings
    ):
        settings.DEFAULT_PHONE_REGION = "KE"

        with pytest.raises(Invalid) as caught:
            normalise_phone("12")

        assert caught.value.message.startswith("Phone must be a valid number")
        assert "KE" in caught.value.message

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "   ",
            "+",
            "+254",
            "+2547123456789999",
            "+999123456789",
            "phone",
            "+25471234567\x00",
        ],
    )
    def test_invalid_numbers_are_rejected_naming_phone(self, value):
        with pytest.raises(Invalid) as caught:
            normalise_phone(value)

        assert caught.value.field == "phone"
        assert "Phone" in caught.value.message

    def test_a_number_with_an_extension_is_rejected(self):
        with pytest.raises(Invalid):
            normalise_phone("+254712345678 ext. 12")

    def test_an_overlong_input_is_rejected_without_parsing(self):
        with pytest.raises(Invalid):
            normalise_phone("+254 " + "-" * 60 + "712345678")

    def test_missing_phone_is_required(self):
        with pytest.raises(Invalid) as caught:
            normalise_phone(None)

        assert caught.value.message == "Phone is required"


class TestNormaliseEmail:
    def test_domain_is_lower_cased_and_local_part_kept(self):
        assert (
            normalise_email(" Amina.Otieno@Example.COM ") == "Amina.Otieno@example.com"
        )

    def test_none_stays_none(self):
        assert normalise_email(None) is None

    def test_blank_becomes_none(self):
        assert normalise_email("  ") is None

    @pytest.mark.parametrize(
        "value",
        [
            "amina",
            "amina@",
            "@example.com",
            "a b@example.com",
            "a@exa\x00mple.com",
            "a@b@c.com",
        ],
    )
    def test_invalid_addresses_are_rejected_naming_email(self, value):
        with pytest.raises(Invalid) as caught:
            normalise_email(value)

        assert caught.value.details == {
            "email": ["Email must be a valid email address"]
        }

    def test_an_address_longer_than_254_characters_is_rejected(self):
        with pytest.raises(Invalid):
            normalise_email("a" * 64 + "@" + "b" * 190 + ".com")


class TestContactClean:
    def test_only_given_fields_are_returned(self):
        assert contact_clean({"name": " Amina "}) == {"name": "Amina"}

    def test_every_bad_field_is_reported(self):
        with pytest.raises(Invalid) as caught:
            contact_clean({"name": "A", "phone": "07", "email": "nope"})

        assert set(caught.value.details) == {"name", "phone", "email"}

    def test_message_names_the_first_bad_field(self):
        with pytest.raises(Invalid) as caught:
            contact_clean({"name": "Amina", "phone": "07"})

        assert caught.value.message.startswith("Phone")
