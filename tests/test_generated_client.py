"""A Python client generated from /api/v1/schema works against the server.

openapi-python-client (offline, as a CLI) writes the client into a temporary
directory; the tests import it and drive the API through it over an
in-process WSGI transport, so every request and response goes through the
generated models exactly as an integrator's would.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from autom8_site.wsgi import application
from tests.factories import DEFAULT_PASSWORD

PACKAGE = "autom8_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
CONFIG = f"package_name_override: {PACKAGE}\npost_hooks: []\n"
FINISHED = {"completed", "failed", "interrupted"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> SimpleNamespace:
    """The client package generated from the served schema, imported."""
    root = tmp_path_factory.mktemp("client")
    schema = Client().get("/api/v1/schema")
    assert schema.status_code == 200
    (root / "schema.json").write_bytes(schema.content)
    (root / "config.yaml").write_text(CONFIG)
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(root / "schema.json"),
            "--config",
            str(root / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--fail-on-warning",
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sys.path.insert(0, str(root))
    try:
        modules = {
            name: importlib.import_module(f"{PACKAGE}.{name}")
            for name in (
                "client",
                "models",
                "api.auth.auth_token",
                "api.contacts.contacts_create",
                "api.contacts.contacts_list",
                "api.contacts.contacts_retrieve",
                "api.contacts.contacts_partial_update",
                "api.contacts.contacts_destroy",
                "api.tasks.tasks_run_create",
                "api.tasks.task_logs_get",
            )
        }
    finally:
        sys.path.remove(str(root))
    return SimpleNamespace(
        **{name.rsplit(".", 1)[-1]: m for name, m in modules.items()}
    )


@pytest.fixture
def wsgi_transport():
    """Requests served in this thread, inside the test's database state.

    The WSGI handler closes connections at each request's end; inside a
    test transaction that would drop it, so the hooks are off meanwhile
    (as Django's own test client does).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield httpx.WSGITransport(app=application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _login(api: SimpleNamespace, transport, username: str):
    anonymous = api.client.AuthenticatedClient(
        base_url="http://testserver", token="", httpx_args={"transport": transport}
    )
    pair = api.auth_token.sync(
        client=anonymous,
        body=api.models.TokenRequest(username=username, password=DEFAULT_PASSWORD),
    )
    assert isinstance(pair, api.models.TokenPair), pair
    return api.client.AuthenticatedClient(
        base_url="http://testserver",
        token=pair.access,
        httpx_args={"transport": transport},
    )


# Each call commits, as a real client's requests do: pages cached before a
# write are left once its transaction commits.
@pytest.mark.django_db(transaction=True)
class TestContactRoundTrip:
    def test_create_list_get_update_delete(self, generated, wsgi_transport, user):
        api = generated
        client = _login(api, wsgi_transport, user.username)

        created = api.contacts_create.sync(
            client=client,
            body=api.models.ContactCreateRequest(
                name="Amina Otieno", phone="+254712345678", email="amina@example.com"
            ),
        )
        listed = api.contacts_list.sync(client=client, limit=10)
        read = api.contacts_retrieve.sync(created.id, client=client)
        changed = api.contacts_partial_update.sync(
            created.id,
            client=client,
            body=api.models.ContactUpdateRequest(email="amina@otieno.example"),
        )
        deleted = api.contacts_destroy.sync_detailed(created.id, client=client)
        gone = api.contacts_retrieve.sync(created.id, client=client)

        assert isinstance(created, api.models.Contact)
        assert created.created_at.tzinfo is not None
        assert [c.id for c in listed.contacts] == [created.id]
        assert (listed.meta.total, listed.meta.next_) == (1, None)
        assert read.phone == "+254712345678"
        assert changed.email == "amina@otieno.example"
        assert deleted.status_code == 204
        assert isinstance(gone, api.models.Error)
        assert gone.error == "Not Found"

    def test_a_field_error_is_parsed_as_the_error_model(
        self, generated, wsgi_transport, user
    ):
        api = generated
        client = _login(api, wsgi_transport, user.username)

        error = api.contacts_create.sync(
            client=client,
            body=api.models.ContactCreateRequest(name="Amina", phone="12"),
        )

        assert isinstance(error, api.models.Error)
        assert "phone" in error.details.additional_properties


@pytest.mark.django_db(transaction=True)
class TestTaskRun:
    def test_a_run_answers_its_log_id_or_the_documented_503(
        self, generated, wsgi_transport, admin, demo
    ):
        api = generated
        client = _login(api, wsgi_transport, admin.username)

        answer = api.tasks_run_create.sync(demo, client=client)

        if isinstance(answer, api.models.Error):  # no scheduler process alive
            assert answer.error == "Service Unavailable"
            assert "runscheduler" in answer.message
            return
        assert isinstance(answer, api.models.TaskRun)
        assert answer.job_id == str(answer.task_log_id)
        assert _finished_log(api, client, answer.task_log_id).status.value in FINISHED


def _finished_log(api, client, log_id: int, timeout: float = 10.0):
    """The run's log once it has finished (read through the client)."""
    deadline = time.monotonic() + timeout
    while True:
        log = api.task_logs_get.sync(log_id, client=client)
        assert isinstance(log, api.models.TaskLog), log
        if log.status.value in FINISHED or time.monotonic() > deadline:
            return log
        time.sleep(0.05)
