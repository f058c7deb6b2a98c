"""The double-fault record: runs written to a JSONL file while the DB is down.

Each line is one event (``start`` or ``finish``) holding the whole record of
its run as known at that moment, keyed by ``run_id``. Writers append under an
exclusive ``flock`` and fsync, so concurrent processes never interleave and a
written line survives a crash. ``fallback_replay`` imports the file under the
same lock and empties it only after every run was imported; importing is
idempotent (``run_id`` is unique), so a replay cut short is simply repeated.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from security.files import private_fd, private_open
from tasks.models import TaskLog
from tasks.services.zombies import local_pid, pid_is_alive, zombie_reason

logger = logging.getLogger(__name__)

# Errors meaning "the database cannot be reached", as opposed to a bad query.
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError)

_RECORD_FIELDS = (
    "task_type",
    "task_name",
    "status",
    "trigger",
    "scheduled_for",
    "owner",
    "started_at",
    "heartbeat_at",
    "completed_at",
    "result",
    "error",
)
_MOMENTS = ("scheduled_for", "started_at", "heartbeat_at", "completed_at")
_FINAL = (TaskLog.Status.COMPLETED, TaskLog.Status.FAILED)


def _path() -> Path:
    """The fallback file, from settings (read at call time)."""
    return Path(settings.TASK_FALLBACK_LOG)


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """An fd of ``path`` (created 0600, append mode) under an exclusive lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = private_fd(path, os.O_RDWR | os.O_APPEND)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _event_of(log: TaskLog, *, event: str) -> dict:
    """The event for ``log``: its kind, run_id and every stored field."""
    record = {"event": event, "run_id": str(log.run_id)}
    record.update({name: getattr(log, name) for name in _RECORD_FIELDS})
    return record


def _record_of(log: TaskLog, *, event: str) -> dict:
    """The JSON line for ``log``, moments in ISO 8601."""
    record = {**_event_of(log, event=event), "recorded_at": timezone.now()}
    for name in ("recorded_at", *_MOMENTS):
        moment = record[name]
        record[name] = moment.isoformat() if isinstance(moment, datetime) else None
    return record


def fallback_record(log: TaskLog, *, event: str) -> None:
    """Append ``log`` as a ``start`` or ``finish`` event; durable on return."""
    line = json.dumps(_record_of(log, event=event), separators=(",", ":")) + "\n"
    with _locked(_path()) as fd:
        os.write(fd, line.encode())
        os.fsync(fd)
    logger.warning(
        "Database unavailable: task run %s (%s) %s recorded in the fallback file",
        log.run_id,
        log.task_type,
        event,
    )


def _parse_line(raw: bytes) -> dict | None:
    """The event of one line, or None when it is torn or malformed."""
    try:
        record = json.loads(raw)
        uuid.UUID(record["run_id"])
        if record["event"] not in ("start", "finish"):
            return None
        for name in _MOMENTS:
            if record.get(name):
                record[name] = parse_datetime(record[name])
        return record if record.get("task_type") and record.get("started_at") else None
    except (ValueError, KeyError, TypeError):
        return None


def _merged(lines: list[bytes]) -> tuple[dict[str, dict], list[bytes]]:
    """Runs by run_id (a finish event wins over a start) and unreadable lines."""
    runs: dict[str, dict] = {}
    rejected: list[bytes] = []
    for raw in lines:
        if not raw.strip():
            continue
        record = _parse_line(raw)
        if record is None:
            rejected.append(raw)
            continue
        known = runs.get(record["run_id"])
        if known is None or known["event"] == "start" or record["event"] == "finish":
            runs[record["run_id"]] = record
    return runs, rejected


def _fields_of(record: dict) -> dict:
    """Model field values of an event."""
    return {name: record.get(name) for name in _RECORD_FIELDS}


def _start_only_fields(record: dict) -> dict:
    """Fields of a run known only by its start: interrupted unless it may still run.

    The owner's pid is checked only on the owner's host, where a live owner
    counts as a fresh heartbeat; a run of another host (or of no parsable
    owner) is judged by its heartbeat, as ``zombie_reason`` judges any run.
    """
    fields = _fields_of(record)
    pid = local_pid(record.get("owner") or "")
    now = timezone.now()
    if pid is not None:
        if pid_is_alive(pid, started_at=record["started_at"]):
            return {**fields, "heartbeat_at": now}
    elif zombie_reason(TaskLog(**fields), now=now) is None:
        return fields
    fields["status"] = TaskLog.Status.INTERRUPTED
    fields["completed_at"] = fields["completed_at"] or now
    fields["error"] = (
        "Run recorded while the database was down; its outcome was never written"
    )
    return fields


def _create(run_id: str, fields: dict) -> bool | None:
    """Insert a run from the file; resolves clashes with the DB constraints.

    Returns None when the run_id was inserted meanwhile by another process.
    """
    try:
        with transaction.atomic():
            TaskLog.objects.create(run_id=run_id, **fields)
        return True
    except IntegrityError:
        pass
    if TaskLog.objects.filter(run_id=run_id).exists():
        return None
    if (
        fields.get("scheduled_for")
        and TaskLog.objects.filter(
            task_type=fields["task_type"], scheduled_for=fields["scheduled_for"]
        ).exists()
    ):
        # The fire also ran elsewhere; both runs happened, keep this one too.
        fields = {**fields, "scheduled_for": None}
    if fields["status"] == TaskLog.Status.RUNNING:
        fields = {
            **fields,
            "status": TaskLog.Status.INTERRUPTED,
            "completed_at": timezone.now(),
            "error": "Run recorded while the database was down overlapped another run",
        }
    with transaction.atomic():
        TaskLog.objects.create(run_id=run_id, **fields)
    return True


def _import(record: dict) -> bool:
    """Bring one run into TaskLog; True when a row was created or updated."""
    run_id = record["run_id"]
    existing = TaskLog.objects.filter(run_id=run_id).first()
    is_final = record["event"] == "finish" and record.get("status") in _FINAL
    if existing is None:
        fields = _fields_of(record) if is_final else _start_only_fields(record)
        created = _create(run_id, fields)
        if created is not None:
            return created
        # A replay inserted the run's start between the lookup and the
        # insert; the outcome still has to reach that row.
        existing = TaskLog.objects.filter(run_id=run_id).first()
        if existing is None:
            return False
    if not is_final or existing.status in _FINAL:
        return False
    # The real outcome replaces "running" and a presumed "interrupted".
    fields = {
        name: record.get(name) for name in ("status", "completed_at", "result", "error")
    }
    updated = (
        TaskLog.objects.filter(pk=existing.pk)
        .exclude(status__in=_FINAL)
        .update(**fields)
    )
    return bool(updated)


def task_log_import(log: TaskLog, *, event: str) -> bool:
    """Bring the in-memory run ``log`` into TaskLog by run_id, idempotently."""
    return _import(_event_of(log, event=event))


def _read_all(fd: int) -> bytes:
    """The whole file behind ``fd``."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _set_aside(rejected: list[bytes]) -> None:
    """Keep unreadable lines for a human in ``<file>.rejected``."""
    if not rejected:
        return
    aside = _path().with_name(_path().name + ".rejected")
    with private_open(aside, append=True) as handle:
        handle.writelines(
            line if line.endswith(b"\n") else line + b"\n" for line in rejected
        )
        handle.flush()
        os.fsync(handle.fileno())
    logger.error(
        "%d unreadable fallback line(s) moved to %s", len(rejected), aside.name
    )


def fallback_replay() -> int:
    """Import the fallback file into TaskLog; returns runs created or updated.

    The file is emptied once everything is in the database. While the
    database is still down nothing is lost: the error is logged, the file
    kept, and 0 returned.
    """
    path = _path()
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with _locked(path) as fd:
        runs, rejected = _merged(_read_all(fd).splitlines(keepends=True))
        changed = 0
        try:
            for record in runs.values():
                changed += _import(record)
        except DATABASE_DOWN_ERRORS:
            logger.warning(
                "Database still unavailable; fallback file kept for a later replay"
            )
            return 0
        _set_aside(rejected)
        os.ftruncate(fd, 0)
        os.fsync(fd)
    if changed:
        logger.info("Imported %d task run(s) from the fallback file", changed)
    return changed
