"""``make run`` (``autom8_site.launch``) as a supervisor, with real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from autom8_site.launch import STOP_TIMEOUT
from tests.servers import BASE_DIR, free_port, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "autom8_site.launch",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def _until(check: Callable[[], object], timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


class Launched:
    """A running launcher, its URL and its log."""

    def __init__(self, proc: subprocess.Popen, base: str, log: Path) -> None:
        self.proc, self.base, self.log = proc, base, log

    def scheduler(self) -> psutil.Process | None:
        """Its scheduler child, if one runs now."""
        for child in psutil.Process(self.proc.pid).children():
            try:
                if "runscheduler" in child.cmdline() and child.is_running():
                    return child
            except psutil.NoSuchProcess:
                continue
        return None

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def lines(self, prefix: str) -> list[str]:
        text = self.log.read_text(errors="replace")
        return [line for line in text.splitlines() if line.startswith(prefix)]


def _serving(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/info", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def launched(tmp_path) -> Iterator[Launched]:
    """``make run`` on a free port, API up and scheduler started."""
    port = free_port()
    log = tmp_path / "launch.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _command(port),
            cwd=BASE_DIR,
            env=process_env(),
            stdout=out,
            stderr=out,
        )
    running = Launched(proc, f"http://127.0.0.1:{port}", log)
    try:
        _until(lambda: _serving(running.base))
        _until(running.scheduler)
        yield running
    finally:
        leftovers = running.descendants() if proc.poll() is None else []
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for child in leftovers:
            if child.is_running():
                child.kill()


def test_a_taken_port_is_one_line_and_a_failure(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = subprocess.run(
            _command(port),
            cwd=BASE_DIR,
            env=process_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "in use" in lines[0]


def test_a_crashed_scheduler_is_restarted(launched):
    crashed = launched.scheduler()

    os.kill(crashed.pid, signal.SIGKILL)

    restarted = _until(
        lambda: (s := launched.scheduler()) is not None and s.pid != crashed.pid
    )
    assert restarted
    assert len(launched.lines("autom8: scheduler exited")) == 1


def test_the_api_keeps_serving_while_the_scheduler_is_down(launched):
    os.kill(launched.scheduler().pid, signal.SIGKILL)
    _until(lambda: launched.lines("autom8: scheduler exited"))

    assert _serving(launched.base)
    assert launched.proc.poll() is None


def test_ctrl_c_stops_everything_within_a_few_seconds(launched):
    children = launched.descendants()
    started = time.monotonic()

    launched.proc.send_signal(signal.SIGINT)
    code = launched.proc.wait(timeout=60)

    assert code == 0
    assert time.monotonic() - started < STOP_TIMEOUT + 3
    assert not [child.pid for child in children if _alive(child)]


def test_a_child_that_ignores_the_stop_is_killed(launched):
    hung = launched.scheduler()
    hung.suspend()  # SIGSTOP: it cannot act on SIGTERM
    started = time.monotonic()

    launched.proc.send_signal(signal.SIGINT)
    launched.proc.wait(timeout=60)

    assert time.monotonic() - started < STOP_TIMEOUT + 3
    assert not _alive(hung)


def test_gunicorn_exiting_stops_the_scheduler_with_a_failure(launched):
    scheduler = launched.scheduler()
    master = next(
        child
        for child in psutil.Process(launched.proc.pid).children()
        if "gunicorn" in " ".join(child.cmdline())
    )

    master.kill()
    code = launched.proc.wait(timeout=60)

    assert code != 0
    assert not _alive(scheduler)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
