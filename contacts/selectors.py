"""Every read of contacts: one contact, filtered and paginated listings."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import caches
from django.db.models import Q, QuerySet

from contacts.models import (
    CONTACT_LIST_DEFAULT_LIMIT,
    CONTACT_LIST_MAX_LIMIT,
    CONTACT_SORT_FIELDS,
    CONTACT_SORT_ORDERS,
    Contact,
)
from contacts.validation import (
    email_lookup_value,
    normalise_email,
    normalise_phone,
)
from contract.errors import Invalid, cursor_invalid
from contract.text import refuse_control_characters
from security.cache.generations import SHARED_ALIAS, scope_generation
from security.crypto import blind_index
from security.paging import cursor_read, cursor_sign, page_window_check

DEFAULT_SORT = "name"
DEFAULT_ORDER = "asc"
CURSOR_SALT = "contacts.list.cursor"


@dataclass(frozen=True)
class ContactPage:
    """One page of a contact listing and what is needed to continue it."""

    contacts: list[Contact]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


@dataclass(frozen=True)
class _Cursor:
    sort: str
    order: str
    key: object
    last_id: int


def contact_get(*, contact_id: int) -> Contact | None:
    """The contact with this id, or None."""
    return Contact.objects.filter(pk=contact_id).first()


# The unfiltered total is cached per contacts generation (see contact_count);
# the timeout only bounds how long an unused entry stays.
TOTAL_SCOPE = "contacts"
TOTAL_SECONDS = 3600


def contact_count() -> int:
    """How many contacts are stored (the unfiltered listing's ``total``).

    Kept in the shared cache under the contacts generation, which every
    committed write moves on (``security.cache.generations``): an exact
    ``count(*)`` walks the whole table (about half a second at a million
    rows), so it runs once per change, not once per page. The generation is
    read first, so a count is never stored under a generation newer than
    the rows it counted.
    """
    generation = scope_generation(TOTAL_SCOPE)
    if generation is None:  # the shared cache is away: count every time
        return Contact.objects.count()
    key = f"contacts:total:{generation}"
    cache = caches[SHARED_ALIAS]
    try:
        total = cache.get(key)
    except Exception:  # noqa: BLE001 - the database still answers
        total = None
    if total is None:
        total = Contact.objects.count()
        with contextlib.suppress(Exception):
            cache.set(key, total, timeout=TOTAL_SECONDS)
    return total


def contact_phone_taken(*, phone: str, exclude_id: int | None = None) -> bool:
    """True when another contact holds this E.164 number (a hint for forms;
    the unique index is what decides on writes)."""
    found = Contact.objects.filter(phone_index=blind_index(phone))
    if exclude_id is not None:
        found = found.exclude(pk=exclude_id)
    return found.exists()


def contact_search_q(term: str) -> Q:
    """Q matching contacts whose phone or email equals ``term`` exactly (via
    the blind indexes); empty when ``term`` is neither."""
    q = Q()
    for normalise, index, lookup in (
        (normalise_phone, "phone_index", str),
        (normalise_email, "email_index", email_lookup_value),
    ):
        try:
            value = normalise(term)
        except Invalid:
            continue
        if value:
            q |= Q(**{index: blind_index(lookup(value))})
    return q


def contact_list(
    *,
    limit: int = CONTACT_LIST_DEFAULT_LIMIT,
    offset: int = 0,
    sort: str | None = None,
    order: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    cursor: str | None = None,
) -> ContactPage:
    """A page of contacts matching the filters, in a stable order.

    Ordered by ``sort`` then id. ``cursor`` (from ``next_cursor``) continues
    after the last contact of the previous page with a keyset condition, so
    deep pages cost no offset scan; it fixes sort and order. Costs two
    queries whatever the page size. Raises Invalid naming a bad parameter;
    None, not an empty string, asks for the default sort and order.
    """
    page_window_check(limit=limit, offset=offset, max_limit=CONTACT_LIST_MAX_LIMIT)
    position = _decode_cursor(cursor) if cursor is not None else None
    if position is not None:
        if offset:
            raise Invalid("offset cannot be combined with cursor", field="offset")
        sort = _same_as_cursor("sort", sort, position.sort)
        order = _same_as_cursor("order", order, position.order)
    sort = _choice("sort", DEFAULT_SORT if sort is None else sort, CONTACT_SORT_FIELDS)
    order = _choice(
        "order", DEFAULT_ORDER if order is None else order, CONTACT_SORT_ORDERS
    )

    matching = _filtered(name=name, phone=phone, email=email)
    filtered = bool(name or phone or email)
    total = matching.count() if filtered else contact_count()
    ordered = matching.order_by(*_ordering(sort, order))
    if position is not None:
        ordered = ordered.filter(_after(position))
    rows = list(ordered[offset : offset + limit + 1])
    page = rows[:limit]
    next_cursor = _encode_cursor(sort, order, page[-1]) if len(rows) > limit else None
    return ContactPage(
        contacts=page, total=total, limit=limit, offset=offset, next_cursor=next_cursor
    )


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid(f"{field} must be one of {', '.join(allowed)}", field=field)
    return value


def _same_as_cursor(field: str, given: str | None, from_cursor: str) -> str:
    if given is not None and given != from_cursor:
        raise Invalid(
            f"{field} must match the cursor's {field} ({from_cursor})", field=field
        )
    return from_cursor


def _filtered(*, name: str | None, phone: str | None, email: str | None) -> QuerySet:
    contacts = Contact.objects.all()
    if name:
        refuse_control_characters(name, field="name")
        contacts = contacts.filter(name__icontains=name)
    if phone:
        contacts = contacts.filter(phone_index=blind_index(normalise_phone(phone)))
    if email:
        normalised = normalise_email(email)
        contacts = contacts.filter(
            email_index=blind_index(email_lookup_value(normalised))
        )
    return contacts


def _ordering(sort: str, order: str) -> tuple[str, ...]:
    sign = "-" if order == "desc" else ""
    if sort == "id":
        return (f"{sign}id",)
    return (f"{sign}{sort}", f"{sign}id")


def _after(position: _Cursor) -> Q:
    """Keyset condition: rows strictly after the cursor in its ordering.

    The leading ``sort >= key`` (``<=`` descending) adds nothing logically;
    it lets the database start the (sort, id) index scan at the cursor
    instead of filtering every row before it.
    """
    op = "lt" if position.order == "desc" else "gt"
    if position.sort == "id":
        return Q(**{f"id__{op}": position.last_id})
    bound = Q(**{f"{position.sort}__{op}e": position.key})
    return bound & (
        Q(**{f"{position.sort}__{op}": position.key})
        | Q(**{position.sort: position.key, f"id__{op}": position.last_id})
    )


def _encode_cursor(sort: str, order: str, last: Contact) -> str:
    key = None if sort == "id" else getattr(last, sort)
    if isinstance(key, datetime):
        key = key.isoformat()
    return cursor_sign(
        {"s": sort, "o": order, "k": key, "i": last.pk}, salt=CURSOR_SALT
    )


def _decode_cursor(raw: str) -> _Cursor:
    """The position inside a cursor. Raises Invalid naming ``cursor`` when it
    was not issued by this server (tampered, truncated, foreign)."""
    data = cursor_read(raw, salt=CURSOR_SALT)
    sort, order, key, last_id = (
        data.get("s"),
        data.get("o"),
        data.get("k"),
        data.get("i"),
    )
    if sort not in CONTACT_SORT_FIELDS or order not in CONTACT_SORT_ORDERS:
        raise cursor_invalid()
    if not isinstance(last_id, int):
        raise cursor_invalid()
    if sort in ("created_at", "updated_at"):
        try:
            key = datetime.fromisoformat(key)
        except (TypeError, ValueError) as exc:
            raise cursor_invalid() from exc
    elif sort == "name" and not isinstance(key, str):
        raise cursor_invalid()
    return _Cursor(sort=sort, order=order, key=key, last_id=last_id)
