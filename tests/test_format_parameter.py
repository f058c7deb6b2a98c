"""``format`` is an ignored query parameter: it never selects a renderer (§0)."""

from __future__ import annotations

import pytest

from contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

ROUTES = [
    "/api/v1/contacts",
    "/api/v1/contacts/{contact}",
    "/api/v1/tasks",
    "/api/v1/task_logs",
    "/api/v1/auth/protected",
    "/api/v1/info",
    "/api/v1/health",
]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("value", ["xml", "json", "api", ""])
def test_a_format_parameter_is_ignored(user_client, path, value):
    url = path.format(contact=ContactFactory().pk)

    response = user_client.get(url, {"format": value})

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"


def test_a_format_parameter_on_a_write_is_ignored(user_client):
    response = user_client.post(
        "/api/v1/contacts?format=xml",
        {"name": "Amina Otieno", "phone": "+254712345678"},
        format="json",
    )

    assert response.status_code == 201, response.content
