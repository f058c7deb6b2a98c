"""``make run``: the API under gunicorn and the scheduler, side by side.

Ctrl-C (SIGINT) or SIGTERM stops both cleanly; if either exits on its own,
the other is stopped too and the exit code is passed on.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _grace_seconds() -> int:
    raw = os.environ.get("SHUTDOWN_GRACE_SECONDS", "").strip()
    return int(raw) if raw.isdigit() else 60


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


def _commands(host: str, port: int, workers: int) -> list[list[str]]:
    gunicorn = [
        *server_command(host=host, port=port, workers=workers),
        # Longer than SHUTDOWN_GRACE_SECONDS, so a task started from the API
        # may finish before the worker is killed.
        "--graceful-timeout",
        str(_grace_seconds() + 5),
    ]
    commands = [gunicorn]
    if importlib.util.find_spec("tasks.management.commands.runscheduler"):
        commands.append([sys.executable, "manage.py", "runscheduler"])
    return commands


def main(argv: list[str] | None = None) -> int:
    """Start every process, wait, stop all when one stops or on a signal."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args(argv)

    procs = [
        subprocess.Popen(cmd, cwd=BASE_DIR)
        for cmd in _commands(args.host, args.port, args.workers)
    ]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(proc.poll() is None for proc in procs):
        time.sleep(0.2)
    if not stopping:
        stop(signal.SIGTERM, None)
    codes = [proc.wait() for proc in procs]
    return 0 if stopping else next((c for c in codes if c), 0)


if __name__ == "__main__":
    sys.exit(main())
