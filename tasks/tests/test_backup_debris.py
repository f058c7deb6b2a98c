"""What a killed backup leaves behind is removed; a running backup's is kept."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from security.files import private_dir
from tasks.builtin.backup import (
    PREFIX,
    SCRATCH_PREFIX,
    _sqlite_snapshot,
    backup_create,
    backup_scratch_dir,
)
from tasks.builtin.cleanup import cleanup_run
from tasks.services.zombies import current_owner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine_dirs")]

OTHER_HOST = "other-node.example.com:4242"


@pytest.fixture
def backups() -> Path:
    return private_dir(settings.BACKUP_DIR)


@pytest.fixture
def dead_owner() -> str:
    """``host:pid`` of a process of this host that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}"


def partial_of(directory: Path, owner: str) -> Path:
    """A half-written backup file of ``owner``, as a killed backup leaves it."""
    path = directory / f"{PREFIX}20261201T020000000000Z.sqlite3.gz.{owner}.part"
    path.write_bytes(b"\x1f\x8b half a backup")
    return path


def scratch_of(directory: Path, owner: str) -> Path:
    """A scratch directory of ``owner`` holding a temporary database copy."""
    path = directory / f"{SCRATCH_PREFIX}{owner}-k2j4x9q_"
    path.mkdir()
    (path / "snapshot.sqlite3").write_bytes(b"SQLite format 3\x00 copy")
    return path


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.utime(item, (then, then))


@pytest.mark.parametrize("leftover", [partial_of, scratch_of])
def test_cleanup_removes_what_a_killed_backup_left(backups, dead_owner, leftover):
    path = leftover(backups, dead_owner)

    result = cleanup_run()

    assert not path.exists()
    assert result["backup_debris"] == 1


@pytest.mark.parametrize("leftover", [partial_of, scratch_of])
def test_a_running_backups_files_are_kept(backups, leftover):
    path = leftover(backups, current_owner())

    cleanup_run()

    assert path.exists()


@pytest.mark.parametrize("leftover", [partial_of, scratch_of])
def test_another_hosts_files_are_removed_once_stale(backups, leftover):
    path = leftover(backups, OTHER_HOST)
    _age(path, settings.TASK_STALE_SECONDS + 60)

    cleanup_run()

    assert not path.exists()


@pytest.mark.parametrize("leftover", [partial_of, scratch_of])
def test_another_hosts_recent_files_are_kept(backups, leftover):
    path = leftover(backups, OTHER_HOST)

    cleanup_run()

    assert path.exists()


def test_backups_and_unrelated_files_are_left_alone(backups):
    kept = backup_create()["file"]
    other = backups / "notes.txt"
    other.write_text("mine")

    cleanup_run()

    assert (backups / kept).exists()
    assert other.exists()


@pytest.mark.django_db(transaction=True)
def test_a_new_backup_first_removes_what_a_killed_one_left(backups, dead_owner):
    leftovers = [partial_of(backups, dead_owner), scratch_of(backups, dead_owner)]

    backup_create()

    assert not [path for path in leftovers if path.exists()]


def test_the_scratch_directory_is_private(backups):
    with backup_scratch_dir(backups) as scratch:
        mode = stat.S_IMODE(scratch.stat().st_mode)

    assert mode == 0o700


@pytest.mark.django_db(transaction=True)
def test_the_temporary_database_copy_is_private(backups):
    if connection.vendor != "sqlite":
        pytest.skip("the temporary copy is a SQLite snapshot")
    target = backups / "copy.sqlite3"

    _sqlite_snapshot(target)

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
