"""The error log: a rotating JSON-lines file of warnings and errors.

``PrivateRotatingFileHandler`` writes it (``LOGGING`` in the settings sends
every warning and error there, redacted like the console); its files are
readable by their owner only. Every worker process of a node appends to the
same file: before each write the handler follows a rotation done by another
process, so no process keeps writing into a rotated file.

``error_log_entries`` reads the entries back, newest first, for
``GET /api/v1/logs/errors``, ``manage.py analyze_logs`` and the dashboard.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from logging import LogRecord
from logging.handlers import RotatingFileHandler
from pathlib import Path

from django.conf import settings

from security.files import private_dir, private_fd

_BLOCK = 64 * 1024


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files are 0600 in a 0700 folder."""

    def _open(self):
        path = Path(self.baseFilename)
        private_dir(path.parent)
        fd = private_fd(path, os.O_WRONLY | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8")

    def shouldRollover(self, record: LogRecord) -> bool:
        """Reopen first when another process rotated the file away."""
        if self.stream is not None and self._rotated_elsewhere():
            self.stream.close()
            self.stream = self._open()
        return bool(super().shouldRollover(record))

    def _rotated_elsewhere(self) -> bool:
        try:
            on_disk = os.stat(self.baseFilename)
        except FileNotFoundError:
            return True
        mine = os.fstat(self.stream.fileno())
        return (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino)


def error_log_files() -> list[Path]:
    """The error log and its rotated copies, newest first."""
    base = Path(settings.ERROR_LOG_FILE)
    rotated = [
        base.with_name(f"{base.name}.{n}")
        for n in range(1, settings.ERROR_LOG_BACKUPS + 1)
    ]
    return [path for path in [base, *rotated] if path.is_file()]


def error_log_entries(*, limit: int | None = None) -> Iterator[dict]:
    """The error log's entries, newest first; lines that are not JSON skipped."""
    count = 0
    for path in error_log_files():
        for line in _lines_backwards(path):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            yield entry
            count += 1
            if limit is not None and count >= limit:
                return


def _lines_backwards(path: Path) -> Iterator[str]:
    """The non-empty lines of ``path``, last first, read in blocks from the end."""
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return
    with file:
        position = file.seek(0, os.SEEK_END)
        tail = b""
        while position > 0:
            step = min(_BLOCK, position)
            position -= step
            file.seek(position)
            lines = (file.read(step) + tail).split(b"\n")
            tail = lines.pop(0)
            for raw in reversed(lines):
                if raw.strip():
                    yield raw.decode("utf-8", errors="replace")
        if tail.strip():
            yield tail.decode("utf-8", errors="replace")


def _moment(entry: dict) -> datetime | None:
    raw = entry.get("timestamp")
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def error_log_summary(
    *, since: datetime, entries: Iterable[dict] | None = None, top: int = 10
) -> dict:
    """Counts by level, module and route, top messages and slowest routes.

    Covers the error log's entries at or after ``since`` (newest first, so
    reading stops at the first older one). Routes come from request lines,
    which carry the URL pattern and the duration.
    """
    levels: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    routes: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    durations: dict[str, list[float]] = {}
    total = 0
    for entry in error_log_entries() if entries is None else entries:
        moment = _moment(entry)
        if moment is None:
            continue
        if moment < since:
            break
        total += 1
        levels[str(entry.get("level"))] += 1
        modules[str(entry.get("module"))] += 1
        messages[str(entry.get("message"))] += 1
        route = entry.get("route")
        if isinstance(route, str):
            routes[route] += 1
            duration = entry.get("duration_ms")
            if isinstance(duration, int | float):
                durations.setdefault(route, []).append(float(duration))
    slowest = sorted(
        (
            {
                "route": route,
                "count": len(values),
                "max_ms": round(max(values), 2),
                "avg_ms": round(sum(values) / len(values), 2),
            }
            for route, values in durations.items()
        ),
        key=lambda row: row["max_ms"],
        reverse=True,
    )[:top]
    return {
        "since": since.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "total": total,
        "by_level": dict(levels.most_common()),
        "by_module": dict(modules.most_common()),
        "by_route": dict(routes.most_common()),
        "top_messages": [
            {"message": message, "count": count}
            for message, count in messages.most_common(top)
        ],
        "slowest_routes": slowest,
    }
