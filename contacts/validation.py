"""The contact field rules, shared by the API services and the admin form.

Each ``normalise_*`` function returns the stored form of a value or raises
``Invalid`` naming the field; ``contact_clean`` applies them to whichever
fields are given and reports every bad field at once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from contract.errors import Invalid
from contract.text import has_control_characters, refuse_control_characters

NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 100
PHONE_MAX_INPUT_LENGTH = 64
EMAIL_MAX_LENGTH = 254
PHONE_EXAMPLE = "+254712345678"

_FORBIDDEN_NAME_CHARACTERS = frozenset("<>")
# Cf: invisible formatting (bidi overrides and isolates, zero-width space,
# byte order mark, soft hyphen) that can make a name display as another.
# The zero-width non-joiner and joiner are spelling in Persian and Indic
# scripts, so, as in IDNA's ContextJ rule, they pass between two letters
# (or combining marks) and nowhere else.
_JOINERS = frozenset("\u200c\u200d")
_JOINABLE_CATEGORIES = ("L", "M")

_email_validator = EmailValidator(message="Email must be a valid email address")


def _has_invisible_formatting(value: str) -> bool:
    """True when ``value`` holds a format character (Unicode Cf) other than
    a joiner between two letters."""
    for position, char in enumerate(value):
        if unicodedata.category(char) != "Cf":
            continue
        if char not in _JOINERS or position == 0:
            return True
        before, after = value[position - 1], value[position + 1 : position + 2]
        if not (_is_joinable(before) and _is_joinable(after)):
            return True
    return False


def _is_joinable(char: str) -> bool:
    return bool(char) and unicodedata.category(char)[0] in _JOINABLE_CATEGORIES


def normalise_name(value: str | None) -> str:
    """The trimmed name. Raises Invalid when missing, too short or too long,
    or holding control characters, invisible formatting characters (bidi
    overrides, zero-width space and the like), ``<`` or ``>``; no HTML
    escaping."""
    if value is None:
        raise Invalid("Name is required", field="name")
    name = value.strip()
    refuse_control_characters(name, field="name", label="Name")
    if _has_invisible_formatting(name):
        raise Invalid(
            "Name must not contain invisible formatting characters", field="name"
        )
    if any(char in _FORBIDDEN_NAME_CHARACTERS for char in name):
        raise Invalid("Name must not contain '<' or '>'", field="name")
    if not NAME_MIN_LENGTH <= len(name) <= NAME_MAX_LENGTH:
        raise Invalid(
            f"Name must be {NAME_MIN_LENGTH} to {NAME_MAX_LENGTH} characters long",
            field="name",
        )
    return name


def _phone_error(region: str | None) -> Invalid:
    if region:
        message = (
            "Phone must be a valid number in international format, "
            f"e.g. {PHONE_EXAMPLE}, or in the national format of {region}"
        )
    else:
        message = f"Phone must be in international format, e.g. {PHONE_EXAMPLE}"
    return Invalid(message, field="phone")


def normalise_phone(value: str | None) -> str:
    """The number in E.164. National formats are accepted only when
    DEFAULT_PHONE_REGION is set. Raises Invalid naming ``phone`` otherwise."""
    if value is None:
        raise Invalid("Phone is required", field="phone")
    region = settings.DEFAULT_PHONE_REGION or None
    text = value.strip()
    if not text or len(text) > PHONE_MAX_INPUT_LENGTH or has_control_characters(text):
        raise _phone_error(region)
    if region is None and not text.startswith("+"):
        raise _phone_error(region)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise _phone_error(region) from exc
    if number.extension or not phonenumbers.is_valid_number(number):
        raise _phone_error(region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str | None) -> str | None:
    """The address with its domain lower-cased, or None when blank.
    Raises Invalid naming ``email`` when it is not a valid address."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > EMAIL_MAX_LENGTH or has_control_characters(text):
        raise Invalid("Email must be a valid email address", field="email")
    try:
        _email_validator(text)
    except ValidationError as exc:
        raise Invalid("Email must be a valid email address", field="email") from exc
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def email_lookup_value(email: str) -> str:
    """The form of a normalised email that its blind index is computed from,
    so that lookups match whatever the letter case."""
    return email.lower()


_NORMALISERS = {
    "name": normalise_name,
    "phone": normalise_phone,
    "email": normalise_email,
}


def contact_clean(fields: Mapping[str, str | None]) -> dict[str, str | None]:
    """The stored form of each given contact field (name, phone, email).

    Only the keys present are checked, so partial updates work. Raises one
    Invalid listing every bad field; its message names the first of them.
    """
    cleaned: dict[str, str | None] = {}
    errors: dict[str, list[str]] = {}
    first: Invalid | None = None
    for field, normalise in _NORMALISERS.items():
        if field not in fields:
            continue
        try:
            cleaned[field] = normalise(fields[field])
        except Invalid as exc:
            first = first or exc
            errors[field] = [exc.message]
    if first is not None:
        raise Invalid(first.message, details=errors)
    return cleaned
