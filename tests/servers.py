"""Real gunicorn servers on the test database, for multi-process tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

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
    """The environment for a child process that shares the test database and
    the node-local caches of this test process (see the root conftest)."""
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    env["CACHE_DIR"] = str(settings.CACHE_DIR)
    env["DJANGO_SETTINGS_MODULE"] = "autom8_site.settings"
    env.update(overrides)
    return env


def manage_py(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``manage.py args`` in a child process with exactly ``env``; a failure
    is returned, not raised."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def gunicorn_process(
    *,
    workers: int = 2,
    threads: int = 4,
    app: str = "autom8_site.wsgi",
    log_path: Path | None = None,
    **env: str,
) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run gunicorn as ``make run`` does, on a free port, in a process group.

    Yields the master process and the base URL. Its log (stderr) goes to
    ``log_path`` when given, else to a temporary file, so a busy server never
    blocks on a full pipe; ``app`` names another WSGI module (one registering
    extra tasks, say). Whatever is left of the group (workers of a killed
    master) is killed after.
    """
    port = free_port()
    cmd = gunicorn_command(
        host="127.0.0.1", port=port, workers=workers, threads=threads, app=app
    )
    output_file = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
    with output_file as output:
        proc = subprocess.Popen(
            cmd,
            cwd=BASE_DIR,
            env=process_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, proc, output)
            yield proc, base
        finally:
            _stop(proc)
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def gunicorn_processes(base: str) -> tuple[psutil.Process, list[psutil.Process]]:
    """The master and the workers of the gunicorn this test started at ``base``."""
    bind = base.removeprefix("http://")
    for child in psutil.Process().children():
        if bind in child.cmdline():
            return child, child.children()
    raise LookupError(f"no gunicorn of this test listens on {bind}")


@contextmanager
def gunicorn_server(**options) -> Iterator[str]:
    """``gunicorn_process`` yielding only the base URL (same options)."""
    with gunicorn_process(**options) as (_proc, base):
        yield base


def _wait_until_up(
    base: str, proc: subprocess.Popen, output: IO[bytes], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output.seek(0)
            err = output.read().decode(errors="replace")
            raise RuntimeError(f"gunicorn exited with {proc.returncode}: {err[-2000:]}")
        try:
            httpx.get(f"{base}/api/v1/health", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start in time")


@contextmanager
def scheduler_process(*, output: Path, **env: str) -> Iterator[subprocess.Popen]:
    """Run ``manage.py runscheduler`` on the test database; killed after."""
    with output.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "runscheduler"],
            cwd=BASE_DIR,
            env=process_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL when ``proc`` has not exited within ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
