"""The Contact model keeps phone and email only as ciphertext."""

import pytest
from django.core.exceptions import FieldError

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from security.crypto import blind_index


def test_phone_is_held_as_ciphertext_only():
    contact = ContactFactory.build(phone="+254712345678")

    assert "712345678" not in contact.phone_encrypted
    assert contact.phone == "+254712345678"


def test_phone_index_is_the_blind_index_of_the_phone():
    contact = ContactFactory.build(phone="+254712345678")

    assert contact.phone_index == blind_index("+254712345678")


def test_email_index_ignores_letter_case():
    contact = ContactFactory.build(email="Amina@example.com")

    assert contact.email_index == blind_index("amina@example.com")


def test_contact_without_email_has_no_email_columns():
    contact = ContactFactory.build(email=None)

    assert contact.email_encrypted is None
    assert contact.email_index is None


def test_string_form_is_the_name():
    assert str(ContactFactory.build(name="Amina Otieno")) == "Amina Otieno"


@pytest.mark.django_db
def test_values_read_back_from_the_database_decrypt():
    created = ContactFactory(phone="+254712345678", email="amina@example.com")

    loaded = Contact.objects.get(pk=created.pk)

    assert (loaded.phone, loaded.email) == ("+254712345678", "amina@example.com")


@pytest.mark.django_db
def test_default_ordering_is_name_then_id():
    first_bea = ContactFactory(name="Bea")
    second_bea = ContactFactory(name="Bea")
    abe = ContactFactory(name="Abe")

    ids = list(Contact.objects.values_list("pk", flat=True))

    assert ids == [abe.pk, first_bea.pk, second_bea.pk]


@pytest.mark.django_db
def test_filtering_on_the_plain_attribute_is_impossible():
    with pytest.raises(FieldError, match="phone"):
        Contact.objects.filter(phone="+254712345678").exists()
