"""Real gunicorn servers on the test database, for multi-process tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
from django.conf import settings
from django.db import connection

from autom8_site.launch import gunicorn_command

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """DATABASE_URL of the database the running tests use."""
    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or ""
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = cfg.get("HOST") or "127.0.0.1"
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{cfg['NAME']}"


def process_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process that shares the test database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    shared = settings.CACHES["shared"]
    if "redis" not in shared["BACKEND"]:  # the node-local cache the tests use
        env["CACHE_DIR"] = str(shared["LOCATION"])
    env["DJANGO_SETTINGS_MODULE"] = "autom8_site.settings"
    env.update(overrides)
    return env


@contextmanager
def gunicorn_server(
    *,
    workers: int = 2,
    threads: int = 4,
    app: str = "autom8_site.wsgi",
    log_path: Path | None = None,
    **env: str,
) -> Iterator[str]:
    """Run gunicorn as ``make run`` does, on a free port; yields its base URL.

    Stops it after. Its log (stderr) goes to ``log_path`` when given; ``app``
    names another WSGI module (one registering extra tasks, say).
    """
    port = free_port()
    cmd = gunicorn_command(
        host="127.0.0.1", port=port, workers=workers, threads=threads
    )
    cmd[cmd.index("autom8_site.wsgi")] = app
    log = open(log_path, "wb") if log_path is not None else None  # noqa: SIM115
    proc = subprocess.Popen(
        cmd,
        cwd=BASE_DIR,
        env=process_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None:
            log.close()


def gunicorn_processes(base: str) -> tuple[psutil.Process, list[psutil.Process]]:
    """The master and the workers of the gunicorn this test started at ``base``."""
    bind = base.removeprefix("http://")
    for child in psutil.Process().children():
        if bind in child.cmdline():
            return child, child.children()
    raise LookupError(f"no gunicorn of this test listens on {bind}")


def _wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"gunicorn exited with {proc.returncode}: {err[-2000:]}")
        try:
            httpx.get(f"{base}/api/v1/health", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start in time")
