"""What a web worker holds in memory: no library it needs only to generate
the schema, to schedule, for commands or tests, or for a database it does
not use (BENCHMARKS.md, "Memory per worker").

A child process starts as a gunicorn worker does (it imports the WSGI
module), serves the benchmark's requests (contact create, detail, list,
health; JWT) and reports the modules it has loaded, then serves the schema.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

WORKER = r"""
import io
import json
import sys

from autom8_site.wsgi import application
from django.contrib.auth import get_user_model

from security.services import token_pair_issue

user = get_user_model().objects.create_user(username="worker")
token = token_pair_issue(user=user).access


def call(method, path, body=b""):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.partition("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    statuses = []
    answer = b"".join(application(environ, lambda s, h, e=None: statuses.append(s)))
    return statuses[0], answer


created, body = call(
    "POST",
    "/api/v1/contacts",
    b'{"name": "Amina Otieno", "phone": "+254712345678"}',
)
statuses = [created]
for path in (
    f"/api/v1/contacts/{json.loads(body)['id']}",
    "/api/v1/contacts?limit=100",
    "/api/v1/health",
):
    statuses.append(call("GET", path)[0])
# A None entry marks a module made unimportable, not a loaded one.
modules = sorted(name for name, module in sys.modules.items() if module is not None)
# Last: the schema loads what the assertions are about.
schema, _ = call("GET", "/api/v1/schema")
print(json.dumps({"statuses": statuses, "modules": modules, "schema": schema}))
"""


def _env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        AUTOM8_ENV="development",
        AUTOM8_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="autom8_site.settings",
        **overrides,
    )
    return env


def _python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -c script`` in a child process with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def worker(tmp_path_factory) -> dict:
    """Statuses answered and modules loaded by a freshly started worker."""
    env = _env(tmp_path_factory.mktemp("worker"))
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, cwd=BASE_DIR, env=env, check=True, timeout=120)
    done = _python(WORKER, env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded(worker: dict, *names: str) -> list[str]:
    return [name for name in names if name in worker["modules"]]


@pytest.mark.slow
class TestWebWorkerImports:
    def test_the_worker_serves_the_benchmark_requests(self, worker):
        assert worker["statuses"] == ["201 Created", "200 OK", "200 OK", "200 OK"]

    def test_the_schema_generator_is_not_loaded(self, worker):
        heavy = loaded(
            worker,
            "drf_spectacular.generators",
            "drf_spectacular.openapi",
            "drf_spectacular.plumbing",
            "drf_spectacular.views",
            "rest_framework.test",
        )

        assert heavy == []

    def test_the_django_test_package_is_not_loaded(self, worker):
        heavy = loaded(
            worker, "django.test", "django.test.client", "unittest", "jinja2"
        )

        assert heavy == []

    def test_the_worker_still_serves_the_schema_afterwards(self, worker):
        assert worker["schema"] == "200 OK"

    def test_a_worker_on_sqlite_does_not_load_the_postgresql_driver(self, worker):
        heavy = loaded(worker, "psycopg", "psycopg_binary", "psycopg2")

        assert heavy == []

    def test_the_scheduler_runner_is_not_loaded(self, worker):
        heavy = loaded(worker, "tasks.scheduler.runner", "tasks.scheduler.leader")

        assert heavy == []

    def test_command_and_test_tooling_is_not_loaded(self, worker):
        heavy = loaded(
            worker, "rich", "openapi_core", "schemathesis", "jsonschema", "httpx"
        )

        assert heavy == []


def test_a_worker_on_postgresql_keeps_the_driver(tmp_path):
    env = _env(tmp_path, DATABASE_URL="postgres://autom8@127.0.0.1:5432/autom8")
    script = (
        "from autom8_site.worker_imports import postgres_driver_hide; "
        "postgres_driver_hide(); import psycopg; print(psycopg.__name__)"
    )

    done = _python(script, env)

    assert done.stdout.strip() == "psycopg", done.stderr
