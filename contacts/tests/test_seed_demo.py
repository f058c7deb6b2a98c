"""``manage.py seed_demo``: realistic, valid, encrypted demo contacts in bulk."""

from io import StringIO

import phonenumbers
import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact
from contacts.validation import contact_clean
from security.crypto import blind_index, decrypt
from tests.conftest import bearer_client
from tests.factories import UserFactory


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, "--no-progress", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestSeedDemo:
    def test_adds_exactly_the_number_asked_for(self):
        _seed("--contacts", "50")

        assert Contact.objects.count() == 50

    def test_every_phone_is_a_valid_number_in_e164(self):
        _seed("--contacts", "50")

        for contact in Contact.objects.all():
            number = phonenumbers.parse(contact.phone)
            assert phonenumbers.is_valid_number(number), contact.phone
            assert contact.phone == phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )

    def test_phones_come_from_several_regions(self):
        _seed("--contacts", "50", "--seed", "3")

        codes = {
            phonenumbers.parse(c.phone).country_code for c in Contact.objects.all()
        }
        assert len(codes) >= 4

    def test_stored_values_are_ciphertext_that_decrypts(self):
        _seed("--contacts", "50")

        for row in Contact.objects.values("phone_encrypted", "phone_index"):
            phone = decrypt(row["phone_encrypted"])
            assert row["phone_encrypted"] != phone
            assert row["phone_index"] == blind_index(phone)

    def test_names_and_emails_pass_the_api_rules(self):
        _seed("--contacts", "50")

        for contact in Contact.objects.all():
            fields = {"name": contact.name, "email": contact.email}
            assert contact_clean(fields) == fields

    def test_a_second_run_adds_as_many_again(self):
        _seed("--contacts", "50", "--seed", "7")

        _seed("--contacts", "50", "--seed", "7")  # the same draws: all taken

        assert Contact.objects.count() == 100
        assert Contact.objects.values("phone_index").distinct().count() == 100

    def test_reports_how_many_were_added(self):
        out = _seed("--contacts", "5")

        assert out.startswith("Added 5 demo contacts")

    def test_a_negative_count_is_refused(self):
        with pytest.raises(CommandError):
            _seed("--contacts", "-1")


@pytest.mark.django_db(transaction=True)
def test_seeding_retires_the_cached_contact_pages():
    user_client = bearer_client(UserFactory())
    _seed("--contacts", "3")
    user_client.get("/api/v1/contacts")

    _seed("--contacts", "4")

    assert user_client.get("/api/v1/contacts").json()["meta"]["total"] == 7
