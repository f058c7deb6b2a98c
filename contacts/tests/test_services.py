"""Writes to contacts: create, update, delete, key rotation."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from contacts.models import Contact
from contacts.services import (
    contact_create,
    contact_delete,
    contact_rotate_field_keys,
    contact_update,
)
from contacts.tests.factories import ContactFactory
from contract.errors import Conflict, Invalid, NotFound
from security.crypto import UnreadableCiphertext, is_current

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


class _TickingClock:
    """A stand-in for ``timezone.now`` that moves one second per call."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


class TestContactCreate:
    def test_created_at_and_updated_at_are_one_moment(self, monkeypatch):
        monkeypatch.setattr("django.utils.timezone.now", _TickingClock())

        contact = contact_create(name="Amina Otieno", phone="+254712345678")

        stored = Contact.objects.get(pk=contact.pk)
        assert stored.created_at == stored.updated_at == contact.updated_at

    def test_values_are_stored_normalised(self):
        contact = contact_create(
            name="  Amina Otieno ", phone="+254 712 345 678", email="A@EX.com"
        )

        stored = Contact.objects.get(pk=contact.pk)
        assert (stored.name, stored.phone, stored.email) == (
            "Amina Otieno",
            "+254712345678",
            "A@ex.com",
        )

    def test_email_is_optional(self):
        contact = contact_create(name="Amina", phone="+254712345678")

        assert Contact.objects.get(pk=contact.pk).email is None

    def test_duplicate_phone_is_a_conflict(self):
        ContactFactory(phone="+254712345678")

        with pytest.raises(Conflict) as caught:
            contact_create(name="Other", phone="+254712345678")

        assert caught.value.message == "A contact with this phone number already exists"

    def test_duplicate_phone_written_differently_is_a_conflict(self):
        ContactFactory(phone="+254712345678")

        with pytest.raises(Conflict):
            contact_create(name="Other", phone="+254 712-345-678")

    def test_a_conflict_leaves_a_single_contact(self):
        ContactFactory(phone="+254712345678")

        with pytest.raises(Conflict):
            contact_create(name="Other", phone="+254712345678")

        assert Contact.objects.count() == 1

    def test_invalid_input_stores_nothing(self):
        with pytest.raises(Invalid):
            contact_create(name="A", phone="+254712345678")

        assert Contact.objects.count() == 0


class TestContactUpdate:
    def test_only_the_given_fields_change(self):
        contact = ContactFactory(
            name="Amina", phone="+254712345678", email="a@example.com"
        )

        contact_update(contact, changes={"name": "Amina Otieno"})

        stored = Contact.objects.get(pk=contact.pk)
        assert (stored.name, stored.phone, stored.email) == (
            "Amina Otieno",
            "+254712345678",
            "a@example.com",
        )

    def test_new_phone_is_normalised_and_reindexed(self):
        contact = ContactFactory(phone="+254712345678")

        contact_update(contact, changes={"phone": "+254 700 000 001"})

        assert Contact.objects.filter(phone_index=contact.phone_index).get().phone == (
            "+254700000001"
        )

    def test_null_email_clears_it(self):
        contact = ContactFactory(email="a@example.com")

        contact_update(contact, changes={"email": None})

        stored = Contact.objects.get(pk=contact.pk)
        assert (stored.email_encrypted, stored.email_index) == (None, None)

    def test_updated_at_moves_forward(self):
        contact = ContactFactory()
        before = contact.updated_at

        contact_update(contact, changes={"name": "New Name"})

        assert Contact.objects.get(pk=contact.pk).updated_at > before

    def test_update_leaves_created_at_alone(self):
        contact = ContactFactory()
        created = contact.created_at

        contact_update(contact, changes={"name": "New Name"})

        assert Contact.objects.get(pk=contact.pk).created_at == created

    def test_no_changes_write_nothing(self):
        contact = ContactFactory()
        before = contact.updated_at

        contact_update(contact, changes={})

        assert Contact.objects.get(pk=contact.pk).updated_at == before

    def test_keeping_its_own_phone_is_not_a_conflict(self):
        contact = ContactFactory(phone="+254712345678")

        updated = contact_update(
            contact, changes={"phone": "+254712345678", "name": "Bea"}
        )

        assert updated.name == "Bea"

    def test_taking_another_contacts_phone_is_a_conflict(self):
        ContactFactory(phone="+254712345678")
        contact = ContactFactory(phone="+254700000001")

        with pytest.raises(Conflict):
            contact_update(contact, changes={"phone": "+254712345678"})

    def test_invalid_change_is_rejected(self):
        contact = ContactFactory()

        with pytest.raises(Invalid) as caught:
            contact_update(contact, changes={"email": "nope"})

        assert caught.value.field is None
        assert caught.value.details == {
            "email": ["Email must be a valid email address"]
        }

    def test_contact_deleted_meanwhile_is_not_found(self):
        contact = ContactFactory()
        Contact.objects.filter(pk=contact.pk).delete()

        with pytest.raises(NotFound):
            contact_update(contact, changes={"name": "Late Edit"})


class TestContactDelete:
    def test_contact_is_removed(self):
        contact = ContactFactory()

        contact_delete(contact)

        assert not Contact.objects.filter(pk=contact.pk).exists()

    def test_deleting_twice_is_not_found(self):
        contact = ContactFactory()
        contact_delete(contact)

        with pytest.raises(NotFound):
            contact_delete(contact)


def _contacts_under(key: str, count: int) -> list[str]:
    """Create ``count`` contacts encrypted under ``key``; their phones."""
    with override_settings(FIELD_ENCRYPTION_KEYS=[key]):
        return [contact.phone for contact in ContactFactory.create_batch(count)]


class TestContactRotateFieldKeys:
    def test_every_token_ends_under_the_first_key(self):
        _contacts_under(OLD_KEY, 3)

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            contact_rotate_field_keys(batch_size=2)
            tokens = list(
                Contact.objects.values_list("phone_encrypted", "email_encrypted")
            )
            assert all(
                is_current(phone) and is_current(email) for phone, email in tokens
            )

    def test_contacts_read_with_only_the_new_key_after_rotation(self):
        created = _contacts_under(OLD_KEY, 3)

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            contact_rotate_field_keys(batch_size=2)
        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            phones = sorted(c.phone for c in Contact.objects.all())

        assert phones == sorted(created)

    def test_blind_indexes_are_unchanged(self):
        _contacts_under(OLD_KEY, 2)
        before = set(Contact.objects.values_list("phone_index", flat=True))

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            contact_rotate_field_keys()

        assert set(Contact.objects.values_list("phone_index", flat=True)) == before

    def test_rows_already_under_the_first_key_are_skipped(self):
        _contacts_under(OLD_KEY, 2)
        _contacts_under(NEW_KEY, 3)

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            result = contact_rotate_field_keys(batch_size=2)

        assert (result.scanned, result.reencrypted) == (5, 2)

    def test_an_interrupted_run_continues_where_it_stopped(self):
        _contacts_under(OLD_KEY, 5)

        def stop_after_first_batch(size):
            raise KeyboardInterrupt

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
            with pytest.raises(KeyboardInterrupt):
                contact_rotate_field_keys(batch_size=2, on_batch=stop_after_first_batch)
            result = contact_rotate_field_keys(batch_size=2)

        assert result.reencrypted == 3

    def test_a_value_no_key_opens_stops_the_run(self):
        _contacts_under(OLD_KEY, 1)

        with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
            with pytest.raises(UnreadableCiphertext):
                contact_rotate_field_keys()

    def test_batch_size_must_be_positive(self):
        with pytest.raises(ValueError):
            contact_rotate_field_keys(batch_size=0)
