"""No phone, email, password or token reaches a log line, whatever the route.

Every log line written while a whole contact flow runs through the API, the
admin and the management commands is captured (console and error log) and
searched for the personal data and secrets that were sent.
"""

from __future__ import annotations

import contextlib
import io
import logging
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from contacts.models import Contact
from tests.factories import DEFAULT_PASSWORD, AdminFactory
from tests.logcapture import json_logs

pytestmark = pytest.mark.django_db

PHONE = "+254712345678"
NEW_PHONE = "+254798765432"
EMAIL = "amina.otieno@example.com"
NEW_EMAIL = "amina@otieno.example"
ADMIN_PHONE = "+254701234567"
ADMIN_EMAIL = "zawadi.wanjiru@example.com"


def _secrets_in(text: str, secrets: list[str]) -> list[str]:
    found = []
    for secret in secrets:
        digits = secret.lstrip("+")
        if secret in text or (digits.isdigit() and digits in text):
            found.append(secret)
    return found


def _api_flow(admin) -> list[str]:
    """Every contact route, with a token obtained by password; returns the tokens."""
    client = APIClient()
    tokens = client.post(
        "/api/v1/auth/token",
        {"username": admin.username, "password": DEFAULT_PASSWORD},
        format="json",
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    created = client.post(
        "/api/v1/contacts",
        {"name": "Amina Otieno", "phone": PHONE, "email": EMAIL},
        format="json",
    ).json()
    url = f"/api/v1/contacts/{created['id']}"
    client.post(  # a duplicate: 409
        "/api/v1/contacts", {"name": "Again", "phone": PHONE}, format="json"
    )
    client.post(  # an invalid phone: 400 quoting nothing back
        "/api/v1/contacts", {"name": "Bad", "phone": "0712345678x"}, format="json"
    )
    client.get("/api/v1/contacts")
    client.get(f"/api/v1/contacts?phone={quote(PHONE)}")
    client.get(f"/api/v1/contacts?email={quote(EMAIL)}")
    client.get(url)
    client.get(f"/api/v1/contacts/{PHONE.lstrip('+')}")
    client.get(f"/api/v1/contacts/{PHONE}")
    client.patch(url, {"phone": NEW_PHONE, "email": NEW_EMAIL}, format="json")
    client.put(url, {"name": "Amina O."}, format="json")
    client.delete(url)
    refreshed = client.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    ).json()
    client.post("/api/v1/auth/logout", {"refresh": refreshed["refresh"]}, format="json")
    client.post(  # a wrong password
        "/api/v1/auth/token",
        {"username": admin.username, "password": "not-the-password-123"},
        format="json",
    )
    return [tokens["access"], tokens["refresh"], refreshed["access"]]


def _admin_flow(client, admin) -> None:
    """Log in by password, add, search and change a contact in the admin."""
    client.post(
        reverse("admin:login"),
        {"username": admin.username, "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )
    client.post(
        reverse("admin:contacts_contact_add"),
        {"name": "Zawadi Wanjiru", "phone": ADMIN_PHONE, "email": ADMIN_EMAIL},
    )
    contact = Contact.objects.get(name="Zawadi Wanjiru")
    changelist = reverse("admin:contacts_contact_changelist")
    client.get(changelist, {"q": ADMIN_PHONE})
    client.get(changelist, {"q": ADMIN_EMAIL})
    client.post(
        reverse("admin:contacts_contact_change", args=[contact.pk]),
        {"name": "Zawadi W.", "phone": ADMIN_PHONE, "email": ADMIN_EMAIL},
    )


def _commands() -> str:
    out = io.StringIO()
    for command in ("listtasks", "rotate_field_keys", "health"):
        # health exits with its status code
        with contextlib.suppress(SystemExit):
            call_command(command, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def captured(client):
    admin = AdminFactory()
    with json_logs(level=logging.DEBUG) as logs:
        tokens = _api_flow(admin)
        _admin_flow(client, admin)
        command_output = _commands()
    error_log = settings.ERROR_LOG_FILE
    error_text = error_log.read_text() if error_log.exists() else ""
    secrets = [
        PHONE,
        NEW_PHONE,
        ADMIN_PHONE,
        EMAIL,
        NEW_EMAIL,
        ADMIN_EMAIL,
        DEFAULT_PASSWORD,
        "not-the-password-123",
        *tokens,
    ]
    return logs, error_text, command_output, secrets


def test_the_flow_was_logged(captured):
    logs, _error_text, _output, _secrets = captured

    paths = {line.get("path") for line in logs.records("autom8.request")}

    assert "/api/v1/contacts/[PHONE]" in paths
    assert len(paths) > 5


def test_no_log_line_holds_personal_data_or_secrets(captured):
    logs, _error_text, _output, secrets = captured

    assert _secrets_in(logs.text, secrets) == []


def test_the_error_log_holds_no_personal_data_or_secrets(captured):
    _logs, error_text, _output, secrets = captured

    assert _secrets_in(error_text, secrets) == []


def test_the_commands_print_no_personal_data_or_secrets(captured):
    _logs, _error_text, output, secrets = captured

    assert _secrets_in(output, secrets) == []
