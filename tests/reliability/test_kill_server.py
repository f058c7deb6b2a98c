"""kill -9 in the middle of work: nothing acknowledged is lost, nothing left.

Mid-load: clients create contacts through gunicorn (master and workers)
until the whole process group gets SIGKILL; every 201 must be in the
database afterwards, with the phone it was given.

Mid-backup: ``manage.py runtask backup`` works on a SQLite database of some
24 MB (random bytes, so compressing takes a while) and gets SIGKILL while
the ``.part`` file grows. The next run reconciles the dead one to
``interrupted``; after a run and after ``cleanup`` no ``.part`` file and no
temporary copy of the database is left in the backup directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from contacts.models import Contact
from tests.factories import UserFactory
from tests.reliability.conftest import caller_for
from tests.servers import BASE_DIR, gunicorn_process, manage_py

pytestmark = pytest.mark.slow

CLIENTS = 8
ACKNOWLEDGED_BEFORE_KILL = 40
FILLER_MB = 24


def _wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_every_acknowledged_write_survives_kill_9_of_the_server():
    headers = caller_for(UserFactory()).headers
    acknowledged: dict[int, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(base: str, number: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=5) as api:
            for serial in range(10_000):
                if stop.is_set():
                    return
                phone = f"+2547{number:02d}{serial:06d}"
                try:
                    response = api.post(
                        "/api/v1/contacts", json={"name": "Kill Test", "phone": phone}
                    )
                except httpx.TransportError:
                    return  # the server is gone
                if response.status_code == 201:
                    with lock:
                        acknowledged[response.json()["id"]] = phone

    with gunicorn_process(workers=2, threads=4) as (proc, base):
        threads = [
            threading.Thread(target=client, args=(base, n)) for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        _wait_for(
            lambda: len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL,
            timeout=60,
            what="acknowledged writes",
        )
        os.killpg(proc.pid, signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    stored = {
        contact.pk: contact.phone
        for contact in Contact.objects.filter(pk__in=list(acknowledged))
    }
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert stored == acknowledged


# --- mid-backup ------------------------------------------------------------


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="autom8_site.settings",
        AUTOM8_VAR_DIR=str(workdir / "var"),
        DATABASE_URL=f"sqlite:///{workdir / 'big.sqlite3'}",
        BACKUP_DIR=str(workdir / "backups"),
        REPORT_DIR=str(workdir / "reports"),
        TASK_FALLBACK_LOG=str(workdir / "var" / "task_fallback.jsonl"),
    )
    env.pop("REDIS_URL", None)
    return env


def _manage(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return manage_py(_env(workdir), *args, timeout=180)


@pytest.fixture(scope="module")
def big_database(tmp_path_factory) -> Path:
    """A migrated SQLite database with ``FILLER_MB`` of random bytes."""
    workdir = tmp_path_factory.mktemp("big")
    done = _manage(workdir, "migrate", "--noinput", "-v0")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(workdir / "big.sqlite3") as db:
        db.execute("CREATE TABLE reliability_filler (data BLOB)")
        db.executemany(
            "INSERT INTO reliability_filler VALUES (?)",
            ((os.urandom(1024 * 1024),) for _ in range(FILLER_MB)),
        )
    return workdir


def _backup_logs(workdir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(workdir / "big.sqlite3", timeout=30) as db:
        return db.execute(
            "SELECT id, status FROM tasks_tasklog WHERE task_type = 'backup'"
            " ORDER BY id"
        ).fetchall()


def _debris(workdir: Path) -> list[str]:
    """Left-overs of a cut backup: ``.part`` files and temporary directories."""
    backups = workdir / "backups"
    return sorted(
        path.name
        for path in backups.iterdir()
        if path.is_dir() or path.name.endswith(".part")
    )


@pytest.fixture
def cut_backup(big_database, tmp_path) -> Path:
    """A copy of the big database whose backup run was killed mid-way."""
    workdir = tmp_path / "site"
    shutil.copytree(big_database, workdir)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runtask", "backup"],
        cwd=BASE_DIR,
        env=_env(workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    backups = workdir / "backups"
    try:
        _wait_for(
            lambda: any(path.stat().st_size > 0 for path in backups.glob("*.part")),
            timeout=60,
            what="the backup to be half written",
        )
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert _debris(workdir), "the kill came too late: nothing was cut"
    return workdir


def test_a_backup_killed_mid_way_is_interrupted_after_reconciliation(cut_backup):
    done = _manage(cut_backup, "runtask", "backup")

    assert done.returncode == 0, done.stderr
    assert [status for _id, status in _backup_logs(cut_backup)] == [
        "interrupted",
        "completed",
    ]


def test_the_next_backup_leaves_no_debris_of_the_cut_one(cut_backup):
    done = _manage(cut_backup, "runtask", "backup")

    assert done.returncode == 0, done.stderr
    assert _debris(cut_backup) == []


def test_cleanup_removes_the_debris_of_a_cut_backup(cut_backup):
    done = _manage(cut_backup, "runtask", "cleanup")

    assert done.returncode == 0, done.stderr
    assert _debris(cut_backup) == []
