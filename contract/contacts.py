"""Contacts in the v1 contract: output shapes and input parsing (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contacts.models import CONTACT_LIST_MAX_LIMIT, Contact
from contract.errors import Invalid
from contract.text import refuse_control_characters
from contract.time import iso_utc

CONTACT_KEYS = ("id", "name", "phone", "email", "created_at", "updated_at")
PAYLOAD_FIELDS = ("name", "phone", "email")
REQUIRED_FIELDS = ("name", "phone")
NULLABLE_FIELDS = ("email",)
LIST_QUERY_PARAMS = (
    "limit",
    "offset",
    "sort",
    "order",
    "name",
    "phone",
    "email",
    "cursor",
)
_INTEGER_MESSAGES = {
    "limit": f"limit must be an integer between 1 and {CONTACT_LIST_MAX_LIMIT}",
    "offset": "offset must be an integer, 0 or more",
}
_MAX_INTEGER_DIGITS = 9
# Ids past 64 bits still reach the lookup (which finds nothing); longer
# strings are refused before int(), whose cost grows with the digits.
_MAX_ID_DIGITS = 40


def contact_to_dict(contact: Contact) -> dict:
    """Public v1 contact shape: fixed keys, None where there is no value."""
    return {
        "id": contact.pk,
        "name": contact.name,
        "phone": contact.phone,
        "email": contact.email or None,
        "created_at": iso_utc(contact.created_at),
        "updated_at": iso_utc(contact.updated_at),
    }


def contact_list_body(
    contacts: Iterable[Contact],
    *,
    total: int,
    limit: int,
    offset: int,
    next_cursor: str | None,
) -> dict:
    """The listing shape: the contacts and the ``meta`` to page through them."""
    return {
        "contacts": [contact_to_dict(contact) for contact in contacts],
        "meta": {
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": next_cursor,
        },
    }


def parse_contact_payload(data: object, *, partial: bool) -> dict[str, str | None]:
    """The known contact fields of a request body, type-checked.

    Unknown keys are dropped. With ``partial`` only the fields sent are
    returned; without it name and phone are required. Raises Invalid naming
    every field that is missing or not a string (email may also be null).
    """
    if not isinstance(data, Mapping):
        raise Invalid("Request body must be a JSON object")
    payload: dict[str, str | None] = {}
    errors: dict[str, list[str]] = {}
    for field in PAYLOAD_FIELDS:
        if field not in data:
            if not partial and field in REQUIRED_FIELDS:
                errors[field] = [f"{field.capitalize()} is required"]
            continue
        value = data[field]
        if isinstance(value, str) or (value is None and field in NULLABLE_FIELDS):
            payload[field] = value
            continue
        kind = "a string or null" if field in NULLABLE_FIELDS else "a string"
        errors[field] = [f"{field.capitalize()} must be {kind}"]
    if errors:
        first_messages = next(iter(errors.values()))
        raise Invalid(first_messages[0], details=errors)
    return payload


def parse_contact_list_query(params: Mapping[str, str]) -> dict[str, object]:
    """The listing parameters present in a query string, limit and offset as
    integers; absent ones are left out so the selector's defaults apply.

    Unknown parameters are ignored. Raises Invalid naming a known parameter
    that is present but empty or only spaces (``?sort=``, ``?name=``: leave
    it out for the default or to match every contact), holds control
    characters (NUL included) or is not a whole number where one is
    expected. A ``phone`` whose leading ``+`` arrived decoded as a space (an
    unencoded query string) gets its ``+`` back.
    """
    query: dict[str, object] = {}
    for name in LIST_QUERY_PARAMS:
        value = params.get(name)
        if value is None:
            continue
        if not value.strip():
            raise Invalid(f"{name} must not be empty", field=name)
        refuse_control_characters(value, field=name)
        if name in _INTEGER_MESSAGES:
            query[name] = _whole_number(name, value)
        elif name == "phone" and value[:1] == " " and value[1:2].isdigit():
            query[name] = "+" + value[1:]
        else:
            query[name] = value
    return query


def parse_contact_id(raw: str) -> int | None:
    """The contact id in a URL segment, or None when it is not a whole number
    written in ASCII digits (so ``-1`` or ``abc`` is simply no contact)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_ID_DIGITS:
        return None
    return int(raw)


def _whole_number(name: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > _MAX_INTEGER_DIGITS:
        raise Invalid(_INTEGER_MESSAGES[name], field=name)
    return int(value)
