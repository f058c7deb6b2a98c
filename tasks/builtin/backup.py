"""The ``backup`` task and the restore it pairs with.

A backup is a consistent snapshot of the database, gzip-compressed into
``BACKUP_DIR`` beside a JSON manifest holding its size and SHA-256:

- SQLite: the sqlite3 online backup API (a page-level copy, consistent
  while other processes write);
- PostgreSQL: ``pg_dump`` (plain SQL, one snapshot) when it is on PATH, else
  Django's ``dumpdata`` (XML: the JSON serializer drops microseconds);
  restored through ``psql`` or ``flush`` + ``loaddata`` in one transaction.

Each method copies stored column values, so encrypted columns (the
contacts' ``*_encrypted`` fields) stay ciphertext in the backup. The backup
still holds password hashes and tokens: files are written 0600 (temporary
copies of the database included) and a new ``BACKUP_DIR`` is created 0700.

A backup writes ``<file>.<host:pid>.part`` and works in a scratch directory
``.autom8-backup-work-<host:pid>-*`` beside it. A backup killed mid-way
leaves them behind: ``backup_debris_remove`` (run by each backup and by the
``cleanup`` task) deletes those whose owner is gone, by the same rule as
zombie runs (``tasks.services.zombies``): a local pid that no longer runs,
or, for another host, nothing written for ``TASK_STALE_SECONDS``.

A restored database may hold runs captured mid-run (the backup task's own,
at least); no process runs them any more, so they are marked interrupted.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from xml.parsers.expat import ExpatError
from xml.sax import SAXException  # nosec B406  # only the error class, to catch it

from django.conf import settings
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.db import connection, connections, transaction
from django.utils import timezone

from security.cache.generations import SCOPES, scopes_bump
from security.files import private_dir, private_fd, private_open
from tasks.registry import register
from tasks.services.zombies import (
    current_owner,
    local_pid,
    pid_is_alive,
    task_logs_interrupt_all,
)

PREFIX = "autom8-backup-"
MANIFEST_SUFFIX = ".manifest.json"
PART_SUFFIX = ".part"
SCRATCH_PREFIX = f".{PREFIX}work-"
_CHUNK = 1 << 20
_EXTENSIONS = {"sqlite": ".sqlite3.gz", "pg_dump": ".sql.gz", "dumpdata": ".xml.gz"}
# dumpdata leaves out rows that migrate recreates with other ids.
_DUMPDATA_EXCLUDE = ["contenttypes", "auth.permission"]
# libpq keywords that stay out of the connection string: the password goes
# through the environment (never on a command line) and the dump picks its
# own encoding.
_CONNINFO_SKIP = {"password", "client_encoding"}
RESTORED_RUNNING_REASON = "Restored from a backup taken while it was running"
# Safety copies taken before a restore: beside the backups, out of pruning.
SAFETY_SUBDIR = "pre-restore"


class BackupRefused(Exception):
    """A backup file that must not be restored; the message says why."""


@register("backup", name="Daily Backup", schedule="0 2 * * *")
def daily_backup() -> dict:
    """Snapshot the database into ``BACKUP_DIR`` and prune old backups."""
    return backup_create()


def _method() -> str:
    """How this database is backed up: sqlite, pg_dump or dumpdata."""
    if connection.vendor == "sqlite":
        return "sqlite"
    if connection.vendor == "postgresql" and shutil.which("pg_dump"):
        return "pg_dump"
    return "dumpdata"


def pg_client_connection(
    cfg: dict | None = None, *, server_options: str = ""
) -> tuple[list[str], dict[str, str]]:
    """Arguments and environment connecting pg_dump/psql as Django connects.

    Every libpq keyword in ``cfg`` (a ``DATABASES`` entry, the default
    connection's when None) and its ``OPTIONS`` (sslmode, sslrootcert,
    sslcert, sslkey, service, target_session_attrs, ...) goes into one
    connection string; Django's own keys are left out. The password travels
    in ``PGPASSWORD``. ``server_options`` is appended to libpq ``options``.
    """
    from psycopg.conninfo import make_conninfo
    from psycopg.pq import Conninfo

    cfg = cfg if cfg is not None else connection.settings_dict
    known = {
        option.keyword.decode() for option in Conninfo.get_defaults()
    } - _CONNINFO_SKIP
    params = {
        "dbname": cfg.get("NAME"),
        "user": cfg.get("USER"),
        "host": cfg.get("HOST"),
        "port": cfg.get("PORT"),
        **(cfg.get("OPTIONS") or {}),
    }
    params["options"] = " ".join(filter(None, [params.get("options"), server_options]))
    kept = {
        key: str(value)
        for key, value in params.items()
        if key in known and value is not None and value != ""
    }
    env = {**os.environ, "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "10")}
    if cfg.get("PASSWORD"):
        env["PGPASSWORD"] = str(cfg["PASSWORD"])
    return ["--dbname", make_conninfo("", **kept)], env


def _sqlite_snapshot(target: Path) -> None:
    """Copy the live SQLite database into ``target`` with the backup API."""
    source = sqlite3.connect(
        f"file:{connection.settings_dict['NAME']}?mode=ro", uri=True
    )
    # Created private before SQLite opens it: SQLite would create it 0644.
    os.close(private_fd(target, os.O_WRONLY))
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()


@contextmanager
def _gzip_writer(target: Path) -> Iterator[IO[bytes]]:
    """A gzip stream into the private file ``target``."""
    with (
        private_open(target) as handle,
        gzip.GzipFile(fileobj=handle, mode="wb") as packed,
    ):
        yield packed


def _gzip_file(source: Path, target: Path) -> None:
    """Compress ``source`` into ``target``."""
    with open(source, "rb") as raw, _gzip_writer(target) as packed:
        shutil.copyfileobj(raw, packed, _CHUNK)


def _pg_dump_into(target: Path) -> None:
    """Stream ``pg_dump`` (plain SQL with DROP ... IF EXISTS) into ``target`` gzipped."""
    cmd = [
        "pg_dump",
        "--format=plain",
        "--no-owner",
        "--no-privileges",
        "--clean",
        "--if-exists",
    ]
    args, env = pg_client_connection()
    with _gzip_writer(target) as packed, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [*cmd, *args], stdout=subprocess.PIPE, stderr=errors, env=env
        )
        shutil.copyfileobj(process.stdout, packed, _CHUNK)
        if process.wait() != 0:
            errors.seek(0)
            last = errors.read().decode(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"pg_dump failed: {' '.join(last) or 'no message'}")


def _dumpdata_into(target: Path) -> None:
    """Write Django's ``dumpdata`` of every app into ``target`` gzipped."""
    with backup_scratch_dir(target.parent) as tmp:
        plain = tmp / "dump.xml"
        private_open(plain).close()  # dumpdata truncates it, keeping the mode
        # XML, because the JSON serializer cuts datetimes to milliseconds.
        call_command(
            "dumpdata",
            format="xml",
            natural_foreign=True,
            exclude=_DUMPDATA_EXCLUDE,
            output=str(plain),
            verbosity=0,
        )
        _gzip_file(plain, target)


def _file_digest(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a written file to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextmanager
def backup_scratch_dir(directory: Path) -> Iterator[Path]:
    """A private working directory in ``directory``, named after its owner."""
    prefix = f"{SCRATCH_PREFIX}{current_owner()}-"
    with tempfile.TemporaryDirectory(dir=directory, prefix=prefix) as tmp:
        yield Path(tmp)


def backup_partial_path(final: Path) -> Path:
    """Where the backup ``final`` is written until complete (names its owner)."""
    return final.with_name(f"{final.name}.{current_owner()}{PART_SUFFIX}")


def _debris_owner(path: Path) -> str | None:
    """``host:pid`` of a backup's leftover ``path``, or None when it is none."""
    name = path.name
    if name.startswith(SCRATCH_PREFIX) and path.is_dir():
        return name[len(SCRATCH_PREFIX) :].rpartition("-")[0]
    if name.startswith(PREFIX) and name.endswith(PART_SUFFIX) and path.is_file():
        return name[: -len(PART_SUFFIX)].partition(".gz.")[2]
    return None


def _last_written(path: Path) -> datetime:
    """When ``path`` (or, for a directory, anything in it) was last written."""
    stamps = [path.stat().st_mtime]
    if path.is_dir():
        stamps += [p.stat().st_mtime for p in path.rglob("*")]
    return datetime.fromtimestamp(max(stamps), tz=UTC)


def _is_abandoned(owner: str, *, written: datetime, now: datetime) -> bool:
    """Whether the backup ``owner`` that last wrote at ``written`` is gone."""
    pid = local_pid(owner)
    if pid is not None:
        # A process created after the last write is a reused pid, not the owner.
        return not pid_is_alive(pid, started_at=written)
    return (now - written).total_seconds() > settings.TASK_STALE_SECONDS


def backup_debris_remove(
    *, directory: Path | None = None, now: datetime | None = None
) -> int:
    """Delete what killed backups left in ``BACKUP_DIR``; returns how many.

    Partial files and scratch directories of a backup still running (its
    owner alive) are kept.
    """
    directory = Path(directory or settings.BACKUP_DIR)
    if not directory.is_dir():
        return 0
    now = now or timezone.now()
    removed = 0
    for path in directory.iterdir():
        owner = _debris_owner(path)
        try:
            if owner is None or not _is_abandoned(
                owner, written=_last_written(path), now=now
            ):
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:  # its owner finished meanwhile
            continue
        removed += 1
    return removed


def backup_files(*, directory: Path | None = None) -> list[Path]:
    """Backups in ``BACKUP_DIR``, newest first (names sort by time)."""
    directory = Path(directory or settings.BACKUP_DIR)
    if not directory.is_dir():
        return []
    found = [
        path
        for path in directory.glob(f"{PREFIX}*.gz")
        if path.is_file() and not path.name.endswith(PART_SUFFIX)
    ]
    return sorted(found, key=lambda path: path.name, reverse=True)


def backup_prune(*, keep: int | None = None) -> int:
    """Delete backups (and manifests) beyond the newest ``keep``; returns how many."""
    keep = settings.BACKUP_KEEP if keep is None else keep
    removed = 0
    for path in backup_files()[keep:]:
        Path(f"{path}{MANIFEST_SUFFIX}").unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def backup_create(*, directory: Path | None = None) -> dict:
    """Write a new backup and its manifest; returns file, size, sha256, method.

    Backups in ``BACKUP_DIR`` are pruned to ``BACKUP_KEEP``; one written into
    another ``directory`` (a safety copy) prunes nothing. What killed backups
    left behind in the directory is removed first.
    """
    pruning = directory is None
    directory = private_dir(directory or settings.BACKUP_DIR)
    backup_debris_remove(directory=directory)
    method = _method()
    created = timezone.now()
    name = f"{PREFIX}{created:%Y%m%dT%H%M%S%fZ}{_EXTENSIONS[method]}"
    final = directory / name
    partial = backup_partial_path(final)
    try:
        if method == "sqlite":
            with backup_scratch_dir(directory) as tmp:
                snapshot = tmp / "snapshot.sqlite3"
                _sqlite_snapshot(snapshot)
                _gzip_file(snapshot, partial)
        elif method == "pg_dump":
            _pg_dump_into(partial)
        else:
            _dumpdata_into(partial)
        _fsync(partial)
        partial.rename(final)
    finally:
        partial.unlink(missing_ok=True)
    manifest = {
        "file": name,
        "size": final.stat().st_size,
        "sha256": _file_digest(final),
        "method": method,
        "vendor": connection.vendor,
        "created_at": created.isoformat(),
    }
    manifest_path = Path(f"{final}{MANIFEST_SUFFIX}")
    with private_open(manifest_path) as handle:
        handle.write((json.dumps(manifest, indent=2) + "\n").encode())
        handle.flush()
        os.fsync(handle.fileno())
    removed = backup_prune() if pruning else 0
    return {
        "file": name,
        "size": manifest["size"],
        "sha256": manifest["sha256"],
        "method": method,
        "pruned": removed,
    }


def _manifest_of(path: Path) -> dict:
    """The manifest beside backup ``path``. Raises BackupRefused."""
    manifest_path = Path(f"{path}{MANIFEST_SUFFIX}")
    if not manifest_path.is_file():
        raise BackupRefused(f"No manifest {manifest_path.name} beside the backup")
    try:
        manifest = json.loads(manifest_path.read_text())
        size, sha256, method = (
            int(manifest["size"]),
            str(manifest["sha256"]),
            manifest["method"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupRefused(f"Manifest {manifest_path.name} is unreadable") from exc
    if method not in _EXTENSIONS:
        raise BackupRefused(f"Unknown backup method {method!r} in the manifest")
    return {**manifest, "size": size, "sha256": sha256}


def backup_verify(*, path: Path) -> dict:
    """The manifest of ``path`` once size and SHA-256 match. Raises BackupRefused."""
    path = Path(path)
    if path.name.endswith(MANIFEST_SUFFIX):
        path = path.with_name(path.name[: -len(MANIFEST_SUFFIX)])
    if not path.is_file():
        raise BackupRefused(f"Backup file {path.name} does not exist")
    manifest = _manifest_of(path)
    size = path.stat().st_size
    if size != manifest["size"]:
        raise BackupRefused(
            f"Backup {path.name} is truncated or altered: {size} bytes, manifest says "
            f"{manifest['size']}"
        )
    if _file_digest(path) != manifest["sha256"]:
        raise BackupRefused(
            f"Backup {path.name} is corrupt: SHA-256 does not match the manifest"
        )
    return {**manifest, "path": path}


@contextmanager
def _unpacked(path: Path, directory: Path, *, suffix: str) -> Iterator[Path]:
    """The decompressed backup as a temporary file. Raises BackupRefused."""
    with backup_scratch_dir(directory) as tmp:
        plain = tmp / f"restore{suffix}"
        try:
            with gzip.open(path, "rb") as packed, private_open(plain) as raw:
                shutil.copyfileobj(packed, raw, _CHUNK)
        except EOFError as exc:
            raise BackupRefused(
                f"Backup {path.name} is not a complete gzip file"
            ) from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise BackupRefused(f"Backup {path.name} is not valid gzip data") from exc
        yield plain


def _restore_sqlite(plain: Path) -> None:
    """Replace the live SQLite database with the snapshot ``plain``."""
    snapshot = sqlite3.connect(plain)
    try:
        try:
            check = snapshot.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupRefused(
                "The SQLite snapshot is not a readable database"
            ) from exc
        if check != "ok":
            raise BackupRefused("The SQLite snapshot fails its integrity check")
        connections.close_all()
        live = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
        try:
            snapshot.backup(live)
        finally:
            live.close()
    finally:
        snapshot.close()


def _restore_pg_dump(plain: Path) -> None:
    """Run the SQL dump ``plain`` through psql in one transaction."""
    psql = shutil.which("psql")
    if psql is None:
        raise BackupRefused(
            "psql is not on PATH; it is needed to restore a pg_dump backup"
        )
    connections.close_all()
    args, env = pg_client_connection(server_options="-c lock_timeout=30s")
    cmd = [
        psql,
        "-X",
        "-q",
        "--single-transaction",
        "-v",
        "ON_ERROR_STOP=1",
        "-f",
        str(plain),
    ]
    done = subprocess.run(
        [*cmd, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"psql failed: {last[0]}")


def _restore_dumpdata(plain: Path) -> None:
    """Empty the database and load the ``dumpdata`` file, all or nothing."""
    try:
        with transaction.atomic():
            call_command("flush", interactive=False, verbosity=0)
            call_command("loaddata", str(plain), verbosity=0)
    except (DeserializationError, ExpatError, SAXException) as exc:
        raise BackupRefused("The dumpdata file is not a readable fixture") from exc


def backup_restore(*, path: Path) -> dict:
    """Restore the database from backup ``path`` after verifying it.

    Raises BackupRefused, before touching the database, when the file is
    missing, corrupt, truncated, or a snapshot of another database engine
    (``dumpdata`` backups are portable between engines). Runs the backup
    caught running are marked interrupted (see the module docstring).
    The current database is first backed up into ``BACKUP_DIR/pre-restore``
    (``safety_copy`` in the result), so the restore can be undone.
    """
    manifest = backup_verify(path=path)
    portable = manifest["method"] == "dumpdata"
    if not portable and manifest.get("vendor") != connection.vendor:
        raise BackupRefused(
            f"Backup is of a {manifest.get('vendor')} database; this one is {connection.vendor}"
        )
    directory = private_dir(settings.BACKUP_DIR)
    safety_dir = directory / SAFETY_SUBDIR
    safety = safety_dir / backup_create(directory=safety_dir)["file"]
    suffix = _EXTENSIONS[manifest["method"]].removesuffix(".gz")
    with _unpacked(manifest["path"], directory, suffix=suffix) as plain:
        if manifest["method"] == "sqlite":
            _restore_sqlite(plain)
        elif manifest["method"] == "pg_dump":
            _restore_pg_dump(plain)
        else:
            _restore_dumpdata(plain)
    # SQLite's backup API and psql write past Django's connections, so the
    # page cache is not told by the writes themselves.
    scopes_bump(*SCOPES)
    interrupted = task_logs_interrupt_all(reason=RESTORED_RUNNING_REASON)
    return {
        "file": manifest["file"],
        "method": manifest["method"],
        "sha256": manifest["sha256"],
        "interrupted": interrupted,
        "safety_copy": str(safety),
    }
