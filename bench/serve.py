"""Servers for the benchmark: started on 127.0.0.1, measured, always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import psutil

from autom8_site.launch import DEFAULT_THREADS, server_command
from bench.wrk import WrkResult

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running server process tree and where it answers."""

    name: str
    port: int
    proc: subprocess.Popen
    log: Path
    rss_rounds: list[list[float]] = field(default_factory=list)

    @property
    def base(self) -> str:
        """Its base URL."""
        return f"http://{HOST}:{self.port}"

    def worker_rss_mb(self) -> list[float]:
        """Resident memory (MB) of each web worker process."""
        return sorted(p.memory_info().rss / 2**20 for p in _workers(self.proc.pid))

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the web server's processes so far
        (the scheduler that launch starts beside it is left out)."""
        total = 0.0
        for proc in [psutil.Process(self.proc.pid), *_descendants(self.proc.pid)]:
            try:
                if "runscheduler" in " ".join(proc.cmdline()):
                    continue
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def measured(self, run: Callable[[], WrkResult]) -> WrkResult:
        """``run()``'s result with the server CPU time per request added."""
        before = self.cpu_seconds()
        result = run()
        spent = self.cpu_seconds() - before
        cpu_ms = spent * 1000 / result.requests if result.requests else None
        return replace(result, cpu_ms=cpu_ms)

    def record_rss(self) -> None:
        """Append the current per-worker RSS as one more round."""
        self.rss_rounds.append(self.worker_rss_mb())

    def stop(self) -> None:
        """SIGTERM the tree, then SIGKILL what is left after 20 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for child in _descendants(self.proc.pid):
                child.kill()
            self.proc.kill()
            self.proc.wait()


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _workers(pid: int) -> list[psutil.Process]:
    """The web workers: leaf processes of the tree, the scheduler excepted."""
    workers = []
    for proc in _descendants(pid):
        try:
            if proc.children() or "runscheduler" in " ".join(proc.cmdline()):
                continue
        except psutil.NoSuchProcess:
            continue
        workers.append(proc)
    return workers


def start_autom8(
    name: str, *, workers: int, env: dict[str, str], log_dir: Path
) -> Server:
    """Autom8 the way ``make run`` serves it (launch: web server + scheduler)."""
    port = free_port()
    command = [sys.executable, "-m", "autom8_site.launch"]
    command += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    return _start(name, command, port=port, env=env, log_dir=log_dir)


def start_app(
    name: str,
    *,
    app: str,
    model: str,
    workers: int,
    env: dict[str, str],
    log_dir: Path,
    threads: int | None = DEFAULT_THREADS,
) -> Server:
    """The WSGI module ``app`` served like launch serves Autom8, without a
    scheduler (the ceiling app, and the server-model comparison)."""
    port = free_port()
    command = server_command(
        host=HOST, port=port, workers=workers, app=app, model=model, threads=threads
    )
    return _start(name, command, port=port, env=env, log_dir=log_dir)


def _start(
    name: str, command: list[str], *, port: int, env: dict[str, str], log_dir: Path
) -> Server:
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name=name, port=port, proc=proc, log=log)
    try:
        _wait_until_up(server, expected_workers=_expected(command))
    except BaseException:
        server.stop()
        raise
    return server


def _expected(command: list[str]) -> int:
    return int(command[command.index("--workers") + 1])


def _wait_until_up(server: Server, *, expected_workers: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited: {tail}")
        try:
            httpx.get(f"{server.base}/api/v1/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        if len(_workers(server.proc.pid)) >= expected_workers:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start within 60 s")


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment with ``overrides``."""
    env = dict(os.environ)
    env.update(overrides)
    return env
