"""Helpers of the engine tests: real database outages, dead and live processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from tests.servers import BASE_DIR, free_port, process_env


def fallback_lines() -> list[dict]:
    """The events now in the fallback file."""
    path = Path(settings.TASK_FALLBACK_LOG)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _terminate_backend(pid: int) -> None:
    """Kill a PostgreSQL session from another session, as a crash would."""
    cfg = connection.settings_dict
    with psycopg.connect(
        host=cfg.get("HOST") or "127.0.0.1",
        port=cfg.get("PORT") or 5432,
        user=cfg.get("USER") or "postgres",
        password=cfg.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@contextmanager
def database_down() -> Iterator[None]:
    """Make the default database unreachable for real until the block ends.

    SQLite: the connection is dropped and re-pointed at a path that cannot
    be opened. PostgreSQL: the server kills the session and the connection
    is re-pointed at a port nobody listens on, so reconnecting fails too.
    """
    cfg = connection.settings_dict
    saved = {key: cfg.get(key) for key in ("NAME", "HOST", "PORT")}
    if connection.vendor == "sqlite":
        connection.close()
        cfg["NAME"] = "/nonexistent-autom8-dir/unreachable.sqlite3"
    else:
        connection.ensure_connection()
        _terminate_backend(connection.connection.info.backend_pid)
        cfg["HOST"], cfg["PORT"] = "127.0.0.1", str(free_port())
    try:
        yield
    finally:
        connection.close()
        cfg.update(saved)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@contextmanager
def live_process() -> Iterator[subprocess.Popen]:
    """A sleeping child process, killed when the block ends."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def this_host(pid: int) -> str:
    """An owner string for ``pid`` on this host."""
    return f"{socket.gethostname()}:{pid}"


def manage(
    *args: str, timeout: float = 60, stdin: str = "", **env: str
) -> subprocess.CompletedProcess:
    """Run ``manage.py`` in a child process on the test database.

    ``stdin`` is what the command reads as typed input.
    """
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=process_env(**env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class BrokenEmailBackend(BaseEmailBackend):
    """An email backend whose server is unreachable."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(
            "SMTP server at smtp.example.com:25 refused the connection"
        )
