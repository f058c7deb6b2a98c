"""50 clients create, update and delete contacts through 2 gunicorn workers.

Each client creates its own contact, tries to take a phone number from a
small shared pool (so clients race for the same numbers, by create and by
update), renames its contact, reads it and deletes half of what it made.
Races must end in 409, never in a 5xx, and the database must keep one row
per phone number (distinct blind indexes = rows).
"""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from django.db.models import Count

from contacts.models import Contact
from tests.servers import gunicorn_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CLIENTS = 50
SHARED_PHONES = [f"+25472200{n:04d}" for n in range(5)]
EXPECTED = {200, 201, 204, 404, 409}


def _client(base: str, headers: dict, number: int, statuses: Counter, lock) -> None:
    """One client's create, contend, update, read and delete."""
    seen = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        own = api.post(
            "/api/v1/contacts",
            json={"name": f"Client {number}", "phone": f"+25471100{number:04d}"},
        )
        seen.append(own.status_code)
        shared = SHARED_PHONES[number % len(SHARED_PHONES)]
        seen.append(
            api.post(
                "/api/v1/contacts", json={"name": "Shared", "phone": shared}
            ).status_code
        )
        if own.status_code == 201:
            url = f"/api/v1/contacts/{own.json()['id']}"
            other = SHARED_PHONES[(number + 1) % len(SHARED_PHONES)]
            seen.append(api.patch(url, json={"phone": other}).status_code)
            seen.append(api.patch(url, json={"name": f"Renamed {number}"}).status_code)
            seen.append(api.get(url).status_code)
            if number % 2:
                seen.append(api.delete(url).status_code)
    with lock:
        statuses.update(seen)


@pytest.fixture(scope="module")
def rush(module_callers, django_db_blocker) -> dict:
    """Status counts of the rush, and the database's rows and indexes after."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    with gunicorn_server(workers=2, threads=4, RATELIMIT_ENABLE="false") as base:
        threads = [
            threading.Thread(
                target=_client,
                args=(base, module_callers["user"].headers, n, statuses, lock),
            )
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    with django_db_blocker.unblock():
        stored = Contact.objects.aggregate(
            rows=Count("pk"), phones=Count("phone_index", distinct=True)
        )
    return {"statuses": statuses, **stored}


def test_no_request_of_the_rush_got_a_server_error(rush):
    assert set(rush["statuses"]) <= EXPECTED, rush["statuses"]


def test_every_client_finished_its_work(rush):
    # 50 creates + 50 contended creates + 3 requests per created contact.
    assert sum(rush["statuses"].values()) >= CLIENTS * 5


def test_races_for_a_phone_ended_in_conflicts(rush):
    assert rush["statuses"][409] > 0


def test_the_database_keeps_one_row_per_phone_number(rush):
    assert rush["rows"] == rush["phones"]
    assert rush["rows"] > 0
