"""Every write to contacts: create, update, delete, key rotation, demo data."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.demo import demo_contact
from contacts.models import Contact
from contacts.validation import contact_clean
from contract.errors import Conflict, NotFound
from security.crypto import is_current, reencrypt

DUPLICATE_PHONE_MESSAGE = "A contact with this phone number already exists"

# The database columns each public field is stored in.
_COLUMNS = {
    "name": ("name",),
    "phone": ("phone_encrypted", "phone_index"),
    "email": ("email_encrypted", "email_index"),
}


def contact_create(*, name: str, phone: str, email: str | None = None) -> Contact:
    """Insert a contact from raw input.

    Raises Invalid for a bad field and Conflict when the phone number is
    already stored; the unique index on ``phone_index``, not a prior read,
    decides, so of concurrent creates exactly one wins. ``created_at`` and
    ``updated_at`` are the same moment.
    """
    cleaned = contact_clean({"name": name, "phone": phone, "email": email})
    now = timezone.now()
    contact = Contact(**cleaned, created_at=now, updated_at=now)
    contact.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            contact.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_PHONE_MESSAGE) from exc
    return contact


def contact_update(contact: Contact, *, changes: Mapping[str, str | None]) -> Contact:
    """Apply the given fields (any of name, phone, email) and save them.

    Fields not in ``changes`` keep their value. Raises Invalid for a bad
    field, Conflict when the new phone belongs to another contact and
    NotFound when the contact was deleted meanwhile.
    """
    cleaned = contact_clean(changes)
    if not cleaned:
        return contact
    for field, value in cleaned.items():
        setattr(contact, field, value)
    contact.updated_at = timezone.now()
    columns = {"updated_at": contact.updated_at}
    for field in cleaned:
        columns.update({column: getattr(contact, column) for column in _COLUMNS[field]})
    try:
        with transaction.atomic():
            updated = Contact.objects.filter(pk=contact.pk).update(**columns)
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_PHONE_MESSAGE) from exc
    if not updated:
        raise NotFound("Contact not found")
    return contact


def contact_delete(contact: Contact) -> None:
    """Delete the contact. Raises NotFound when it was already deleted."""
    deleted, _ = Contact.objects.filter(pk=contact.pk).delete()
    if not deleted:
        raise NotFound("Contact not found")


@dataclass(frozen=True)
class RotationResult:
    """What a key rotation run did."""

    scanned: int
    reencrypted: int


def contact_rotate_field_keys(
    *,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> RotationResult:
    """Re-encrypt every contact's phone and email under the first key.

    Contacts are walked in id order, one transaction per batch; rows
    already under the first key are skipped, so a run that was interrupted
    simply continues when started again. ``on_batch`` receives the size of
    each finished batch. Raises UnreadableCiphertext when a stored value
    opens with no configured key.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    last_id = 0
    scanned = reencrypted = 0
    while True:
        with transaction.atomic():
            rows = list(
                Contact.objects.select_for_update()
                .filter(pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", "phone_encrypted", "email_encrypted")[:batch_size]
            )
            reencrypted += _reencrypt_rows(rows)
        if not rows:
            break
        last_id = rows[-1][0]
        scanned += len(rows)
        if on_batch is not None:
            on_batch(len(rows))
    return RotationResult(scanned=scanned, reencrypted=reencrypted)


def _reencrypt_rows(rows: list[tuple[int, str, str | None]]) -> int:
    """Rewrite the rows whose tokens are not under the first key."""
    stale = []
    for pk, phone_token, email_token in rows:
        phone_stale = not is_current(phone_token)
        email_stale = email_token is not None and not is_current(email_token)
        if not (phone_stale or email_stale):
            continue
        stale.append(
            Contact(
                pk=pk,
                phone_encrypted=reencrypt(phone_token) if phone_stale else phone_token,
                email_encrypted=reencrypt(email_token) if email_stale else email_token,
            )
        )
    if stale:
        Contact.objects.bulk_update(stale, ["phone_encrypted", "email_encrypted"])
    return len(stale)


# Rows per INSERT statement; a transaction holds a whole batch, so each
# index page it touches is written once per batch, not once per statement.
_INSERT_ROWS = 1000


def contact_seed_demo(
    *,
    count: int,
    batch_size: int = 5000,
    seed: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Insert ``count`` realistic demo contacts in bulk; returns ``count``.

    Names and e-mail addresses pass ``contact_clean`` (the API's rules);
    numbers are valid by construction (``contacts.demo``, checked with
    phonenumbers as ``normalise_phone`` does). The model encrypts and
    blind-indexes them like any other. A number already stored,
    or drawn twice, is drawn again, so every run adds exactly ``count``
    contacts. One transaction per batch of ``batch_size``; ``on_batch``
    receives the size of each inserted batch. ``seed`` repeats the draws.
    """
    if count < 0:
        raise ValueError("count must be 0 or more")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rng = random.Random(seed)  # noqa: S311  # nosec B311 - demo data, not a secret
    now = timezone.now()
    created = 0
    while created < count:
        batch = _demo_batch(rng, size=min(batch_size, count - created), now=now)
        try:
            with transaction.atomic():
                Contact.objects.bulk_create(batch, batch_size=_INSERT_ROWS)
        except IntegrityError:  # a concurrent write took one of the numbers
            continue
        created += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return created


def _demo_batch(rng: random.Random, *, size: int, now: datetime) -> list[Contact]:
    """``size`` unsaved demo contacts whose numbers no stored contact has."""
    drawn: dict[str, Contact] = {}  # phone_index -> contact
    while len(drawn) < size:
        for _ in range(size - len(drawn)):
            fields = demo_contact(rng, now=now)
            moment, phone = fields.pop("created_at"), fields.pop("phone")
            contact = Contact(
                **contact_clean(fields),
                phone=phone,
                created_at=moment,
                updated_at=moment,
            )
            drawn.setdefault(contact.phone_index, contact)
        stored = Contact.objects.filter(phone_index__in=list(drawn)).values_list(
            "phone_index", flat=True
        )
        for index in stored:
            del drawn[index]
    return list(drawn.values())
