"""Query-string and path parsing shared by every listing (pure).

One rule for every known parameter (API_CONTRACT.md, base rules): present
but empty or blank is a 400 naming it, and so are control characters;
``limit`` and ``offset`` are whole numbers in ASCII digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contract.errors import Invalid, limit_invalid, offset_invalid
from contract.text import refuse_control_characters

# Longer strings are refused before int(), whose cost grows with the digits.
_MAX_INTEGER_DIGITS = 9
# Ids past 64 bits still reach the lookup (which finds nothing).
_MAX_ID_DIGITS = 40


def parse_known_params(
    params: Mapping[str, str], names: Iterable[str]
) -> dict[str, str]:
    """The known parameters present in a query string, as sent.

    Unknown parameters are ignored. Raises Invalid naming a known one that
    is empty or only spaces (leave it out for the default) or holds control
    characters (NUL included).
    """
    found: dict[str, str] = {}
    for name in names:
        value = params.get(name)
        if value is None:
            continue
        if not value.strip():
            raise Invalid(f"{name} must not be empty", field=name)
        found[name] = refuse_control_characters(value, field=name)
    return found


def parse_limit(raw: str, *, maximum: int) -> int:
    """A ``limit`` from 1 to ``maximum``. Raises Invalid naming ``limit``."""
    if not _is_digits(raw) or not 1 <= int(raw) <= maximum:
        raise limit_invalid(maximum)
    return int(raw)


def parse_offset(raw: str) -> int:
    """An ``offset``, 0 or more. Raises Invalid naming ``offset``."""
    if not _is_digits(raw):
        raise offset_invalid()
    return int(raw)


def parse_path_id(raw: str) -> int | None:
    """The integer id in a URL segment, or None when it is not a whole number
    written in ASCII digits (so ``-1`` or ``abc`` is simply not found)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_ID_DIGITS:
        return None
    return int(raw)


def _is_digits(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= _MAX_INTEGER_DIGITS
