"""``make run``: the API under gunicorn and the scheduler, side by side.

A small supervisor:

* the address is checked first: when it cannot be bound (port taken), one
  line says so and the exit code is 1;
* the scheduler is restarted when it exits on its own, after a backoff
  that doubles up to ``MAX_BACKOFF`` seconds (reset once it ran a while),
  with one line per restart; the API keeps serving meanwhile;
* when gunicorn exits on its own, everything stops and its exit code (1 if
  it was 0) is passed on;
* Ctrl-C (SIGINT) or SIGTERM sends SIGTERM to every child and, after
  ``STOP_TIMEOUT`` seconds, SIGKILL to what is left (each child runs in its
  own process group, so its workers go too).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Seconds a gunicorn worker gets to finish its requests when stopped; web
# workers run no task code, so a short grace is enough.
GRACEFUL_TIMEOUT = 5
# A worker silent this long is killed and replaced by the gunicorn master.
WORKER_TIMEOUT = 30
# After SIGTERM, seconds before the children still alive are killed.
STOP_TIMEOUT = GRACEFUL_TIMEOUT + 3
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
# A scheduler that ran this long before exiting starts over with FIRST_BACKOFF.
STABLE_SECONDS = 60.0
# gunicorn's own request limits sit above the application's (see
# security.limits), so oversized request lines and headers get the
# application's JSON answer with the §1 headers instead of gunicorn's page.
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELD_SIZE = 16384
LIMIT_REQUEST_FIELDS = 200
_POLL = 0.2


# Chosen by measurement (BENCHMARKS.md, "Server model"): gthread workers,
# one per core, 4 threads each. The model and the counts are only set here,
# so make run and the benchmark agree.
SERVER_MODELS = ("sync", "gthread", "granian")
DEFAULT_SERVER_MODEL = "gthread"
DEFAULT_THREADS = 4


def default_workers() -> int:
    """WEB_CONCURRENCY when set, else one worker per core."""
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return os.cpu_count() or 1


def server_command(
    *,
    host: str,
    port: int,
    workers: int,
    app: str = "autom8_site.wsgi",
    model: str = DEFAULT_SERVER_MODEL,
    threads: int | None = DEFAULT_THREADS,
) -> list[str]:
    """The command serving the WSGI module ``app`` with ``model`` workers.

    ``threads`` is per worker for gthread and granian (its blocking
    threads; None keeps granian's own default); sync workers have one.
    """
    if model == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "wsgi"]
        command += ["--host", host, "--port", str(port), "--workers", str(workers)]
        if threads:
            command += ["--blocking-threads", str(threads)]
        return [*command, "--no-access-log", f"{app}:application"]
    command = [sys.executable, "-m", "gunicorn", app, "--bind", f"{host}:{port}"]
    command += ["--workers", str(workers)]
    if model == "gthread":
        command += ["--threads", str(threads or DEFAULT_THREADS)]
    return command


def gunicorn_command(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int = DEFAULT_THREADS,
    app: str = "autom8_site.wsgi",
) -> list[str]:
    """The gunicorn command line of ``make run``: every server option lives here."""
    return [
        *server_command(
            host=host, port=port, workers=workers, app=app, threads=threads
        ),
        "--graceful-timeout",
        str(GRACEFUL_TIMEOUT),
        "--timeout",
        str(WORKER_TIMEOUT),
        "--limit-request-line",
        str(LIMIT_REQUEST_LINE),
        "--limit-request-field_size",
        str(LIMIT_REQUEST_FIELD_SIZE),
        "--limit-request-fields",
        str(LIMIT_REQUEST_FIELDS),
        # Metrics of every worker: clean the shared files at start, mark a
        # dead worker's gauges.
        "--config",
        "python:autom8_site.gunicorn_hooks",
    ]


def scheduler_command() -> list[str] | None:
    """The scheduler command line, or None when this install has none."""
    if not importlib.util.find_spec("tasks.management.commands.runscheduler"):
        return None
    return [sys.executable, "manage.py", "runscheduler"]


def bind_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As gunicorn binds: a port in TIME_WAIT is free, a listening one not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            reason = "port already in use" if exc.errno == errno.EADDRINUSE else None
            return f"cannot listen on {host}:{port}: {reason or exc.strerror}"
    return None


def _say(message: str) -> None:
    sys.stderr.write(f"autom8: {message}\n")
    sys.stderr.flush()


def _start(cmd: list[str]) -> subprocess.Popen:
    # Its own process group: a terminal's Ctrl-C reaches only this
    # supervisor, which stops the children in order; killpg reaches workers.
    return subprocess.Popen(cmd, cwd=BASE_DIR, start_new_session=True)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_all(procs: list[subprocess.Popen], *, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to each child, SIGKILL to its group after ``timeout`` seconds."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        time.sleep(_POLL)
    for proc in procs:
        if proc.poll() is None:
            _say(f"pid {proc.pid} did not stop in {timeout:.0f}s: killed")
            # Its group (a gunicorn master's workers) goes with it; only
            # while it is unreaped is its pid sure to name that group.
            _signal_group(proc, signal.SIGKILL)
        proc.wait()


class _Scheduler:
    """The scheduler child, restarted with a backoff when it exits."""

    def __init__(self, cmd: list[str]) -> None:
        self.cmd = cmd
        self.proc = _start(cmd)
        self.started = time.monotonic()
        self.backoff = FIRST_BACKOFF
        self.restart_at: float | None = None

    def tend(self) -> None:
        """Notice an exit and schedule, or perform, the restart."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.proc, self.started, self.restart_at = _start(self.cmd), now, None
            return
        code = self.proc.poll()
        if code is None:
            return
        if now - self.started >= STABLE_SECONDS:
            self.backoff = FIRST_BACKOFF
        _say(f"scheduler exited with code {code}; restarting in {self.backoff:.0f}s")
        self.restart_at = now + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF)


def main(argv: list[str] | None = None) -> int:
    """Start gunicorn and the scheduler; supervise until a signal or gunicorn exits."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args(argv)

    problem = bind_problem(args.host, args.port)
    if problem is not None:
        _say(problem)
        return 1
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    web = _start(gunicorn_command(host=args.host, port=args.port, workers=args.workers))
    scheduler_cmd = scheduler_command()
    scheduler = _Scheduler(scheduler_cmd) if scheduler_cmd else None
    while not stopping and web.poll() is None:
        if scheduler is not None:
            scheduler.tend()
        time.sleep(_POLL)
    stop_all([web, *([scheduler.proc] if scheduler else [])])
    if stopping:
        return 0
    _say(f"gunicorn exited with code {web.returncode}; everything stopped")
    return web.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
