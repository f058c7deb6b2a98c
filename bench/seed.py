"""The benchmark's data, written through Autom8's own code in this process.

``django_setup`` must run after the environment names the database, so
these functions import Django lazily.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from multiprocessing import get_context

BENCH_USER = "bench"
SEED_CONTACTS = 100
FIRST_NAMES = [
    "Amina",
    "Brian",
    "Chebet",
    "David",
    "Esther",
    "Faith",
    "George",
    "Halima",
    "Ian",
    "Joy",
    "Kamau",
    "Lilian",
    "Moses",
    "Njeri",
    "Otieno",
    "Purity",
    "Quentin",
    "Rose",
    "Samuel",
    "Tabitha",
    "Umar",
    "Violet",
    "Wanjiru",
    "Xavier",
    "Yusuf",
    "Zawadi",
]
LAST_NAMES = [
    "Achieng",
    "Barasa",
    "Cheruiyot",
    "Duale",
    "Ekai",
    "Gitau",
    "Hassan",
    "Imbuga",
    "Jeptoo",
    "Kariuki",
    "Langat",
    "Mutua",
    "Nyambura",
    "Odhiambo",
    "Owino",
    "Rotich",
    "Sang",
    "Tanui",
    "Wafula",
    "Yego",
]


def django_setup() -> None:
    """Configure Django from the environment and bring the schema up to date."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def bench_token() -> str:
    """An access token of the benchmark user (staff, to clear caches)."""
    from django.contrib.auth import get_user_model

    from security.services import token_pair_issue

    user, _ = get_user_model().objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True}
    )
    return token_pair_issue(user=user).access


def seed_contacts(count: int = SEED_CONTACTS) -> list[int]:
    """Create ``count`` contacts through the create service; their ids."""
    from contacts.services import contact_create

    return [
        contact_create(
            name=f"Bench Contact {n:05d}",
            phone=f"+25470{n:07d}",
            email=f"bench{n}@example.com",
        ).pk
        for n in range(1, count + 1)
    ]


def drop_contacts_after(last_id: int) -> int:
    """Delete the contacts the POST runs added; how many went."""
    from contacts.models import Contact

    deleted, _ = Contact.objects.filter(pk__gt=last_id).delete()
    return deleted


def setting(name: str) -> object:
    """A Django setting, or None when this build has no such setting."""
    from django.conf import settings

    return getattr(settings, name, None)


# --- a million contacts on PostgreSQL -------------------------------------------

_COPY_COLUMNS = (
    "name",
    "phone_encrypted",
    "phone_index",
    "email_encrypted",
    "email_index",
    "created_at",
    "updated_at",
)


def _rows(start: int, stop: int) -> list[tuple]:
    """Contacts ``start``..``stop``-1, each with its own real ciphertexts."""
    from django.utils import timezone

    from contacts.validation import email_lookup_value
    from security.crypto import blind_index, encrypt

    now = timezone.now()
    names = itertools.product(FIRST_NAMES, LAST_NAMES)
    pairs = list(names)
    rows = []
    for n in range(start, stop):
        first, last = pairs[n % len(pairs)]
        phone = f"+25472{n:07d}"
        email = f"{first}.{last}.{n}@example.com".lower()
        rows.append(
            (
                f"{first} {last} {n:07d}",
                encrypt(phone),
                blind_index(phone),
                encrypt(email),
                blind_index(email_lookup_value(email)),
                now,
                now,
            )
        )
    return rows


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(total, start + size)


def seed_million(total: int, *, processes: int = 2, chunk: int = 20000) -> float:
    """COPY ``total`` contacts into PostgreSQL; the seconds it took.

    Every row gets its own phone, email, Fernet ciphertexts and blind
    indexes, computed by ``processes`` forked workers while this process
    streams finished chunks into ``COPY``: no shortcut that a reader of the
    data could tell apart from contacts created through the API.
    """
    from django.db import connection

    from contacts.models import Contact

    started = time.monotonic()
    table = Contact._meta.db_table
    columns = ", ".join(_COPY_COLUMNS)
    connection.close()  # forked workers must not share this connection
    with get_context("fork").Pool(processes) as pool:
        batches = pool.imap(_rows_star, _chunks(total, chunk))
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for done, rows in enumerate(batches, start=1):
                    for row in rows:
                        copy.write_row(row)
                    print(f"  {min(done * chunk, total):>9,} contacts", end="\r")
            cursor.execute(f"ANALYZE {table}")
    print()
    return time.monotonic() - started


def _rows_star(bounds: tuple[int, int]) -> list[tuple]:
    return _rows(*bounds)
