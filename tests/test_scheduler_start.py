"""A starting ``runscheduler`` clears what a backup killed with it left."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tasks.builtin.backup import PREFIX, SCRATCH_PREFIX
from tests.servers import BASE_DIR, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_scheduler_removes_a_killed_backups_files_when_it_starts(tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir(mode=0o700)
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    owner = f"{socket.gethostname()}:{killed.pid}"
    partial = backups / f"{PREFIX}20261201T020000000000Z.sqlite3.gz.{owner}.part"
    partial.write_bytes(b"half")
    scratch = backups / f"{SCRATCH_PREFIX}{owner}-abc123"
    scratch.mkdir()
    (scratch / "snapshot.sqlite3").write_bytes(b"copy")
    scheduler = subprocess.Popen(
        [sys.executable, "manage.py", "runscheduler"],
        cwd=BASE_DIR,
        env=process_env(BACKUP_DIR=str(backups)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (partial.exists() or scratch.exists()):
            time.sleep(0.2)
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)

    assert not partial.exists()
    assert not scratch.exists()
