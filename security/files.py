"""Private files: everything Autom8 writes under ``var/`` is 0600 in 0700 directories.

The database, its WAL, backups, reports, the fallback log and the
development secrets hold password hashes, tokens and personal data: no
other local user may read them. Pure standard library, so settings can use
it before Django is set up.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700
# Files SQLite keeps beside a database in WAL mode (and the rollback journal).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_fd(path: Path | str, flags: int) -> int:
    """An fd of ``path`` opened with ``flags``, created (or narrowed) to 0600."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        # O_CREAT's mode only applies to a new file: narrow an existing one.
        os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def private_open(path: Path | str, *, append: bool = False) -> IO[bytes]:
    """``path`` opened for binary writing (truncated, or appended to), mode 0600."""
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    return os.fdopen(private_fd(path, flags), "ab" if append else "wb")


def private_dir(path: Path | str) -> Path:
    """``path`` as a directory; created 0700 when it does not exist yet."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return path


def narrow(path: Path | str, mode: int) -> None:
    """Take every permission beyond ``mode`` away from ``path`` when it is ours."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)


def sqlite_files_private(database: Path | str) -> None:
    """Narrow a SQLite database file and its WAL, SHM and journal to 0600.

    SQLite creates the database with 0644 and gives the WAL and SHM files the
    database's own mode, so narrowing the database also covers WAL files
    created later.
    """
    for suffix in ("", *SQLITE_COMPANIONS):
        narrow(f"{database}{suffix}", FILE_MODE)
