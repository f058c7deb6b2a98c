"""Read-your-writes across processes: write through one gunicorn, read
through another at once (both with two workers), on the test database and
the configured shared cache (diskcache on SQLite, Redis with REDIS_URL)."""

import time

import httpx
import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from security.metrics import cache_stats
from tasks.tests.factories import TaskLogFactory
from tests.factories import UserFactory
from tests.servers import gunicorn_server

ROUNDS = 4
READS = 4  # per check, each on a new connection, so both workers answer
LIST_URL = "/api/v1/contacts?limit=100"


@pytest.fixture
def token(transactional_db) -> str:
    return str(RefreshToken.for_user(UserFactory()).access_token)


@pytest.fixture(scope="module")
def nodes(django_db_setup, django_db_blocker):
    """Two servers of two workers each: a writer node and a reader node."""
    with django_db_blocker.unblock():
        with (
            gunicorn_server(workers=2, threads=2) as writer,
            gunicorn_server(workers=2, threads=2) as reader,
        ):
            yield writer, reader


def _call(base: str, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30.0) as client:
        return client.request(method, path, headers=headers, **kwargs)


class _Reader:
    """Reads through one server on fresh connections, counting the reads."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token, self.count = base, token, 0

    def all(self, path: str) -> list[httpx.Response]:
        self.count += READS
        return [_call(self.base, self.token, "GET", path) for _ in range(READS)]


def _names(responses: list[httpx.Response]) -> list[list[str]]:
    return [[c["name"] for c in r.json()["contacts"]] for r in responses]


def _stats_after(expected: int, before: dict) -> int:
    """Lookups counted since ``before``, once ``expected`` have arrived."""
    deadline = time.monotonic() + 10
    while True:
        now = cache_stats()
        counted = sum(now[key] - before[key] for key in before)
        if counted >= expected or time.monotonic() > deadline:
            return counted
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_contact_writes_through_one_node_are_read_through_the_other_at_once(
    nodes, token
):
    writer, reader_base = nodes
    reader = _Reader(reader_base, token)
    for n in range(ROUNDS):
        reader.all(LIST_URL)  # warm both reader workers
        created = _call(
            writer,
            token,
            "POST",
            "/api/v1/contacts",
            json={"name": f"Round {n}", "phone": f"+25472200{n:04d}"},
        ).json()
        detail = f"/api/v1/contacts/{created['id']}"
        assert all(f"Round {n}" in names for names in _names(reader.all(LIST_URL)))
        assert {r.json()["name"] for r in reader.all(detail)} == {f"Round {n}"}

        _call(writer, token, "PATCH", detail, json={"name": f"Renamed {n}"})
        assert {r.json()["name"] for r in reader.all(detail)} == {f"Renamed {n}"}
        assert all(f"Renamed {n}" in names for names in _names(reader.all(LIST_URL)))

        _call(writer, token, "DELETE", detail)
        assert {r.status_code for r in reader.all(detail)} == {404}
        assert all(
            f"Renamed {n}" not in names for names in _names(reader.all(LIST_URL))
        )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_worker_counts_its_hits_and_misses_in_the_shared_metrics(nodes, token):
    _writer, reader_base = nodes
    reader = _Reader(reader_base, token)
    before = cache_stats()

    reader.all(LIST_URL)
    reader.all(LIST_URL)

    assert _stats_after(reader.count, before) == reader.count
    assert cache_stats()["hits"] > before["hits"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_log_written_by_another_process_is_in_the_stats_at_once(nodes, token):
    _writer, reader_base = nodes
    reader = _Reader(reader_base, token)
    reader.all("/api/v1/task_logs/stats")

    TaskLogFactory()

    totals = {
        r.json()["total_executions"] for r in reader.all("/api/v1/task_logs/stats")
    }
    assert totals == {1}
