"""Concurrent creates of one phone number against a real multi-process server."""

import threading

import httpx
import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from contacts.models import Contact
from tests.factories import UserFactory
from tests.servers import gunicorn_server

CLIENTS = 20


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_phone_yield_one_contact():
    token = str(RefreshToken.for_user(UserFactory()).access_token)
    barrier = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    lock = threading.Lock()

    with gunicorn_server(workers=4, threads=5) as base:

        def create(number: int) -> None:
            with httpx.Client(base_url=base, timeout=30.0) as client:
                payload = {"name": f"Racer {number}", "phone": "+254712345678"}
                barrier.wait(timeout=30)
                response = client.post(
                    "/api/v1/contacts",
                    json=payload,
                    headers={"Authorization": f"Bearer {token}"},
                )
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=create, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(statuses) == [201] + [409] * (CLIENTS - 1)
    assert Contact.objects.count() == 1
