"""The one rule for control characters in text the API accepts.

A leaf module like ``contract.errors`` (standard library only), so the apps'
validation and the contract's parsers share one definition.
"""

from __future__ import annotations

import unicodedata

from contract.errors import Invalid

# Cc: C0/C1 controls, NUL and DEL; Cs: lone surrogates, which no database
# accepts as text; Zl/Zp: line and paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def has_control_characters(value: str) -> bool:
    """True when ``value`` holds a control character, NUL, line separator or
    lone surrogate."""
    return any(unicodedata.category(char) in CONTROL_CATEGORIES for char in value)


def refuse_control_characters(value: str, *, field: str, label: str = "") -> str:
    """``value`` unchanged. Raises Invalid naming ``field`` (shown as ``label``
    when given) when it holds control characters."""
    if has_control_characters(value):
        raise Invalid(
            f"{label or field} must not contain control characters", field=field
        )
    return value
