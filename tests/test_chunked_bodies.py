"""Request bodies sent with ``Transfer-Encoding: chunked`` are read (§0).

gunicorn passes such a body without ``CONTENT_LENGTH``; Django alone would
read it as empty. These tests send real chunked requests to real gunicorn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from tests.servers import gunicorn_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

UPLOAD_LIMIT = 4096


@pytest.fixture
def server() -> Iterator[str]:
    """A gunicorn with a small upload limit."""
    with gunicorn_server(
        workers=1, threads=2, DATA_UPLOAD_MAX_MEMORY_SIZE=str(UPLOAD_LIMIT)
    ) as base:
        yield base


@pytest.fixture
def auth(user) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {RefreshToken.for_user(user).access_token}",
        "Content-Type": "application/json",
    }


def chunked(payload: object, *, size: int = 7) -> Iterator[bytes]:
    """``payload`` as JSON, in small pieces (httpx sends a generator chunked)."""
    data = json.dumps(payload).encode()
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_chunked_post_creates_the_contact(server, auth):
    body = {"name": "Amina Otieno", "phone": "+254712345678"}

    response = httpx.post(
        f"{server}/api/v1/contacts", content=chunked(body), headers=auth, timeout=20
    )

    assert response.status_code == 201, response.text
    assert Contact.objects.get(pk=response.json()["id"]).name == "Amina Otieno"


def test_a_chunked_patch_changes_the_contact(server, auth):
    contact = ContactFactory(name="Old Name")

    response = httpx.patch(
        f"{server}/api/v1/contacts/{contact.pk}",
        content=chunked({"name": "New Name"}),
        headers=auth,
        timeout=20,
    )

    assert response.status_code == 200, response.text
    contact.refresh_from_db()
    assert contact.name == "New Name"


def test_a_chunked_body_over_the_upload_limit_is_413(server, auth):
    body = {"name": "A" * UPLOAD_LIMIT, "phone": "+254712345678"}

    response = httpx.post(
        f"{server}/api/v1/contacts",
        content=chunked(body, size=1000),
        headers=auth,
        timeout=20,
    )

    assert response.status_code == 413
    assert response.json()["error"] == "Request Entity Too Large"
    assert not Contact.objects.exists()
