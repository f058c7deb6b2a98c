"""Start-up with odd configuration: `.env.example` sourced, malformed values.

Each case runs a real process (manage.py or the WSGI module, as gunicorn
imports it) and expects either a normal start or one line naming the problem.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_VALUE = (
    "from django.conf import settings; "
    "print(settings.DATABASES['default']['ENGINE']); "
    "print(settings.ALLOWED_HOSTS)"
)
INFO_STATUS = (
    "import django; django.setup(); "
    "from django.test import Client; "
    "print(Client().get('/api/v1/info', HTTP_HOST='127.0.0.1').status_code)"
)


def _base_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"}
    }
    env.update(AUTOM8_ENV="development", AUTOM8_VAR_DIR=str(tmp_path))
    env["DJANGO_SETTINGS_MODULE"] = "autom8_site.settings"
    env.update(overrides)
    return env


def _sourced(tmp_path: Path, *command: str) -> subprocess.CompletedProcess:
    """``command`` run after ``set -a; . ./.env.example`` (var dir kept private)."""
    script = (
        "set -a; . ./.env.example; set +a; "
        f"export AUTOM8_VAR_DIR={shlex.quote(str(tmp_path))}; "
        f"exec {shlex.join(command)}"
    )
    return subprocess.run(
        ["bash", "-c", script],
        cwd=BASE_DIR,
        env=_base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _run(env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(command),
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line_naming(result: subprocess.CompletedProcess, name: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert name in lines[0]


class TestEnvExampleSourced:
    def test_manage_check_passes(self, tmp_path):
        result = _sourced(tmp_path, sys.executable, "manage.py", "check")

        assert result.returncode == 0, result.stderr

    def test_an_empty_database_url_means_the_default_sqlite(self, tmp_path):
        result = _sourced(
            tmp_path, sys.executable, "manage.py", "shell", "-c", SETTINGS_VALUE
        )

        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-2] == "django.db.backends.sqlite3"

    def test_an_empty_allowed_hosts_means_the_default_hosts(self, tmp_path):
        result = _sourced(
            tmp_path, sys.executable, "manage.py", "shell", "-c", SETTINGS_VALUE
        )

        assert "127.0.0.1" in result.stdout.splitlines()[-1], result.stderr

    def test_a_request_to_the_default_host_is_served(self, tmp_path):
        result = _sourced(tmp_path, sys.executable, "-c", INFO_STATUS)

        assert result.stdout.strip().splitlines()[-1:] == ["200"], result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "garbage"),
        ("DATABASE_URL", "postgress://user:pw@db/autom8"),
        ("REDIS_URL", "notaurl"),
        ("REDIS_URL", "http://127.0.0.1:6379/0"),
    ],
)
class TestMalformedUrl:
    def test_manage_py_says_so_in_one_line(self, tmp_path, name, value):
        result = _run(
            _base_env(tmp_path, **{name: value}), sys.executable, "manage.py", "check"
        )

        _one_line_naming(result, name)

    def test_the_wsgi_entry_point_says_so_in_one_line(self, tmp_path, name, value):
        result = _run(
            _base_env(tmp_path, **{name: value}),
            sys.executable,
            "-c",
            "import autom8_site.wsgi",
        )

        _one_line_naming(result, name)

    def test_the_value_is_not_echoed(self, tmp_path, name, value):
        result = _run(
            _base_env(tmp_path, **{name: value}), sys.executable, "manage.py", "check"
        )

        assert value not in result.stderr


def test_runscheduler_with_an_unknown_import_says_so_in_one_line(tmp_path):
    result = _run(
        _base_env(tmp_path),
        sys.executable,
        "manage.py",
        "runscheduler",
        "--import",
        "no_such_module_x",
    )

    _one_line_naming(result, "no_such_module_x")
