"""``manage.py rotate_field_keys``."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from security.crypto import UnreadableCiphertext

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_field_keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_contacts() -> dict[int, tuple[str, str]]:
    """Three contacts written under the old key: id -> (phone, email)."""
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        return {c.pk: (c.phone, c.email) for c in ContactFactory.create_batch(3)}


def _read_all() -> dict[int, tuple[str, str]]:
    return {c.pk: (c.phone, c.email) for c in Contact.objects.all()}


def test_old_key_can_be_removed_after_rotation(old_contacts):
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        _rotate("--batch-size", "2")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert _read_all() == old_contacts


def test_without_rotation_the_old_key_cannot_be_removed(old_contacts):
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(UnreadableCiphertext):
            _read_all()


def test_summary_counts_the_reencrypted_contacts(old_contacts):
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        output = _rotate()

    assert "Re-encrypted 3 of 3 contacts" in output


def test_second_run_has_nothing_left_to_do(old_contacts):
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        _rotate()
        output = _rotate()

    assert "Re-encrypted 0 of 3 contacts" in output


def test_progress_bar_counts_every_contact(old_contacts, capsys):
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        _rotate("--batch-size", "1")

    assert "3/3" in capsys.readouterr().err


def test_progress_bar_can_be_hidden(old_contacts, capsys):
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        _rotate("--no-progress")

    assert capsys.readouterr().err == ""


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="batch-size"):
        _rotate("--batch-size", "0")


def test_a_contact_no_key_opens_fails_the_command(old_contacts):
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEYS"):
            _rotate()
