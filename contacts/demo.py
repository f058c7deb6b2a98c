"""Realistic demo contacts: names, valid mobile numbers of several regions,
e-mail addresses on the reserved ``example.*`` domains (RFC 2606)."""

from __future__ import annotations

import functools
import random
import unicodedata
from datetime import datetime, timedelta

import phonenumbers

# Region -> (first names, last names) common there.
_PEOPLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "KE": (
        ("Amina", "Brian", "Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Kip"),
        ("Otieno", "Mwangi", "Kariuki", "Odhiambo", "Wambui", "Kiprono", "Chebet"),
    ),
    "NG": (
        ("Chinedu", "Ngozi", "Tunde", "Aisha", "Emeka", "Funmilayo", "Ibrahim"),
        ("Okafor", "Adeyemi", "Balogun", "Eze", "Bello", "Nwosu", "Okonkwo"),
    ),
    "ZA": (
        ("Thabo", "Lerato", "Sipho", "Naledi", "Pieter", "Anele", "Zanele"),
        ("Nkosi", "Dlamini", "van der Merwe", "Botha", "Mokoena", "Khumalo"),
    ),
    "GB": (
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Sophie"),
        ("Smith", "Jones", "Taylor", "O'Brien", "Davies", "Evans", "Wilson"),
    ),
    "US": (
        ("Liam", "Olivia", "Noah", "Emma", "James", "Charlotte", "Mia", "Lucas"),
        ("Johnson", "Williams", "Brown", "Garcia", "Miller", "Martinez", "Lee"),
    ),
    "DE": (
        ("Lukas", "Hannah", "Felix", "Lea", "Jonas", "Marie", "Paul", "Emilia"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner"),
    ),
    "FR": (
        ("Louis", "Jade", "Gabriel", "Louise", "Raphaël", "Chloé", "Hugo"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand"),
    ),
    "IN": (
        ("Aarav", "Ananya", "Vihaan", "Diya", "Arjun", "Priya", "Rohan"),
        ("Sharma", "Patel", "Singh", "Iyer", "Reddy", "Gupta", "Nair"),
    ),
    "BR": (
        ("João", "Maria", "Pedro", "Ana", "Lucas", "Beatriz", "Gabriel"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Lima"),
    ),
}
REGIONS = tuple(_PEOPLE)
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_EMAIL_SHARE = 0.8  # four in five demo contacts have an e-mail address
_RANDOM_DIGITS = 6  # the subscriber digits varied from a region's example
_MAX_TRIES = 50


@functools.cache
def _mobile_example(region: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE
    )
    if number is None:
        raise ValueError(f"phonenumbers has no mobile example for {region}")
    return number


def demo_phone(rng: random.Random, *, region: str) -> str:
    """A valid mobile number of ``region`` in E.164, its last digits random."""
    example = _mobile_example(region)
    prefix = str(example.national_number)[:-_RANDOM_DIGITS]
    for _ in range(_MAX_TRIES):
        digits = f"{rng.randrange(10**_RANDOM_DIGITS):0{_RANDOM_DIGITS}d}"
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(prefix + digits)
        )
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )
    raise ValueError(f"no valid {region} number found in {_MAX_TRIES} tries")


def _ascii_slug(text: str) -> str:
    """``"Raphaël O'Brien"`` -> ``"raphaelobrien"``: accents dropped, letters kept."""
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore")
    return "".join(char for char in folded.decode() if char.isalnum())


def demo_contact(rng: random.Random, *, now: datetime) -> dict:
    """Raw fields of one demo contact (name, phone, email or None) and the
    moment it was created, within the year before ``now``."""
    region = rng.choice(REGIONS)
    firsts, lasts = _PEOPLE[region]
    first, last = rng.choice(firsts), rng.choice(lasts)
    email = None
    if rng.random() < _EMAIL_SHARE:
        local = f"{_ascii_slug(first)}.{_ascii_slug(last)}{rng.randrange(1000)}"
        email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
    return {
        "name": f"{first} {last}",
        "phone": demo_phone(rng, region=region),
        "email": email,
        "created_at": now - timedelta(seconds=rng.randrange(365 * 24 * 3600)),
    }
