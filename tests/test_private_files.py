"""Everything Autom8 writes under var/ is private: files 0600, directories 0700."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from security.files import private_open, sqlite_files_private
from tests.servers import BASE_DIR, gunicorn_server

pytestmark = pytest.mark.slow


def _modes(var_dir: Path) -> dict[str, int]:
    """Every path under ``var_dir`` (itself included) with its permission bits."""
    found = {".": stat.S_IMODE(var_dir.stat().st_mode)}
    for root, dirs, files in os.walk(var_dir):
        for name in dirs + files:
            path = Path(root, name)
            found[str(path.relative_to(var_dir))] = stat.S_IMODE(path.stat().st_mode)
    return found


def _loose(modes: dict[str, int], var_dir: Path) -> dict[str, str]:
    """Paths whose mode is not 0700 (directories) or 0600 (files)."""
    return {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (var_dir / name).is_dir() else 0o600)
    }


def _env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(AUTOM8_ENV="development", AUTOM8_VAR_DIR=str(var_dir))
    return env


@pytest.fixture
def served_var_dir(tmp_path):
    """A fresh var/ after migrate and requests to a real server: its modes then."""
    var_dir = tmp_path / "var"
    env = _env(var_dir)
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    database = f"sqlite:///{var_dir / 'autom8.sqlite3'}"
    with gunicorn_server(workers=1, threads=2, DATABASE_URL=database, **env) as base:
        httpx.get(f"{base}/api/v1/health")
        httpx.post(f"{base}/api/v1/auth/token", json={"username": "a", "password": "b"})
        yield var_dir, _modes(var_dir)


def test_var_and_everything_in_it_are_private_while_serving(served_var_dir):
    var_dir, modes = served_var_dir

    assert "autom8.sqlite3-wal" in modes
    assert _loose(modes, var_dir) == {}


def test_var_is_narrowed_to_0700_when_it_already_exists(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    var_dir.chmod(0o755)

    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=_env(var_dir),
        capture_output=True,
        timeout=120,
    )

    assert done.returncode == 0
    assert stat.S_IMODE(var_dir.stat().st_mode) == 0o700


def test_an_existing_world_readable_database_is_narrowed(tmp_path):
    database = tmp_path / "db.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").write_bytes(b"")
        Path(f"{database}{suffix}").chmod(0o644)

    sqlite_files_private(database)

    assert {
        stat.S_IMODE(Path(f"{database}{suffix}").stat().st_mode)
        for suffix in ("", "-wal", "-shm")
    } == {0o600}


def test_a_private_file_opened_for_appending_is_0600_and_keeps_its_content(
    tmp_path,
):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"first\n")
    path.chmod(0o644)

    with private_open(path, append=True) as handle:
        handle.write(b"second\n")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"first\nsecond\n"
