"""Contacts in the v1 contract: output shapes and input parsing (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contacts.models import CONTACT_LIST_MAX_LIMIT, Contact
from contract.errors import Invalid
from contract.query import (
    parse_known_params,
    parse_limit,
    parse_offset,
    parse_path_id,
)
from contract.time import iso_utc

CONTACT_KEYS = ("id", "name", "phone", "email", "created_at", "updated_at")
CONTACT_META_KEYS = ("total", "limit", "offset", "next_cursor", "next")
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
    next_url: str | None,
) -> dict:
    """The listing shape: the contacts and the ``meta`` to page through them;
    ``next`` is the next page's URL, None on the last page."""
    return {
        "contacts": [contact_to_dict(contact) for contact in contacts],
        "meta": {
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": next_cursor,
            "next": next_url,
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
    query: dict[str, object] = dict(parse_known_params(params, LIST_QUERY_PARAMS))
    if "limit" in query:
        query["limit"] = parse_limit(query["limit"], maximum=CONTACT_LIST_MAX_LIMIT)
    if "offset" in query:
        query["offset"] = parse_offset(query["offset"])
    phone = query.get("phone")
    if phone is not None and phone[:1] == " " and phone[1:2].isdigit():
        query["phone"] = "+" + phone[1:]
    return query


def parse_contact_id(raw: str) -> int | None:
    """The contact id in a URL segment, or None (see ``parse_path_id``)."""
    return parse_path_id(raw)
