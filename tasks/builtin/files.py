"""Private files of the built-in tasks: backups and reports hold personal data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO


def private_open(path: Path) -> IO[bytes]:
    """``path`` opened for writing, created (or narrowed) to mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")


def private_dir(path: Path) -> Path:
    """``path`` as a directory; created 0700 when it does not exist yet."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
