"""The backup task and restore_backup: identical data back, bad files refused."""

import gzip
import hashlib
import json
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from psycopg.conninfo import conninfo_to_dict

from contacts.tests.factories import ContactFactory
from security.cache.generations import scope_generation
from tasks.builtin.backup import (
    BackupRefused,
    backup_create,
    backup_files,
    backup_restore,
    pg_client_connection,
)
from tasks.builtin.report import report_build, report_write
from tasks.models import TaskLog
from tasks.services.execution import task_execute
from tasks.tests.factories import TaskFactory, TaskLogFactory
from tasks.tests.support import manage
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("engine_dirs"),
]

TABLES = ("auth_user", "contacts_contact", "tasks_task", "tasks_tasklog")


def _snapshot() -> dict[str, list[tuple]]:
    """Every stored value of the tables under test, ciphertext included."""
    rows = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 - fixed names
            rows[table] = [tuple(row) for row in cursor.fetchall()]
    return rows


def _some_data() -> None:
    UserFactory.create_batch(2)
    ContactFactory.create_batch(3)
    TaskFactory(
        id="backup", name="Daily Backup", schedule="0 2 * * *", is_enabled=False
    )
    TaskLogFactory.create_batch(2)


def _change_everything() -> None:
    from contacts.models import Contact

    Contact.objects.first().delete()
    ContactFactory()
    UserFactory()
    TaskLog.objects.update(status="failed")


def _backup_path(result: dict) -> Path:
    return Path(settings.BACKUP_DIR) / result["file"]


def test_a_backup_restores_to_identical_data():
    _some_data()
    before = _snapshot()
    path = _backup_path(backup_create())
    _change_everything()
    assert _snapshot() != before

    backup_restore(path=path)

    assert _snapshot() == before


def test_a_restore_retires_the_cached_contact_pages():
    _some_data()
    path = _backup_path(backup_create())
    _change_everything()
    before = scope_generation("contacts")

    backup_restore(path=path)

    assert scope_generation("contacts") != before


def test_dumpdata_is_the_fallback_without_pg_dump_and_restores_identically(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite always uses its backup API")
    monkeypatch.setenv("PATH", "/nonexistent")
    _some_data()
    before = _snapshot()
    result = backup_create()
    _change_everything()

    backup_restore(path=_backup_path(result))

    assert result["method"] == "dumpdata"
    assert _snapshot() == before


def test_the_backup_is_gzip_with_a_matching_sha256_manifest():
    result = backup_create()

    path = _backup_path(result)
    manifest = json.loads(Path(f"{path}.manifest.json").read_text())
    assert gzip.decompress(path.read_bytes())
    assert (
        manifest["sha256"]
        == result["sha256"]
        == hashlib.sha256(path.read_bytes()).hexdigest()
    )
    assert manifest["size"] == path.stat().st_size


def test_encrypted_columns_stay_ciphertext_in_the_backup():
    contact = ContactFactory(phone="+254712345678", email="amina@example.com")
    stored = contact.__class__.objects.values("phone_encrypted").get(pk=contact.pk)

    content = gzip.decompress(_backup_path(backup_create()).read_bytes())

    assert b"+254712345678" not in content
    assert b"amina@example.com" not in content
    assert stored["phone_encrypted"].encode() in content


def test_only_the_newest_backups_are_kept(settings):
    settings.BACKUP_KEEP = 2
    names = [backup_create()["file"] for _ in range(3)]

    kept = [path.name for path in backup_files()]

    assert kept == [names[2], names[1]]
    assert not list(Path(settings.BACKUP_DIR).glob(f"{names[0]}*"))


def test_the_backup_task_records_the_file_in_its_result():
    log = task_execute(task_id="backup")

    result = json.loads(log.result)
    assert log.status == "completed"
    assert _backup_path(result).is_file()
    assert set(result) == {"file", "size", "sha256", "method", "pruned"}


def _refused(path: Path) -> str:
    with pytest.raises(BackupRefused) as caught:
        backup_restore(path=path)
    return str(caught.value)


def test_a_corrupt_backup_is_refused_and_the_database_untouched():
    _some_data()
    path = _backup_path(backup_create())
    _change_everything()
    after_change = _snapshot()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    message = _refused(path)

    assert (
        message == f"Backup {path.name} is corrupt: SHA-256 does not match the manifest"
    )
    assert _snapshot() == after_change


def test_a_truncated_backup_is_refused():
    path = _backup_path(backup_create())
    path.write_bytes(path.read_bytes()[:-100])

    assert "is truncated or altered" in _refused(path)


def test_a_backup_without_its_manifest_is_refused():
    path = _backup_path(backup_create())
    Path(f"{path}.manifest.json").unlink()

    assert _refused(path) == f"No manifest {path.name}.manifest.json beside the backup"


def test_an_incomplete_gzip_is_refused_even_with_a_matching_manifest():
    path = _backup_path(backup_create())
    path.write_bytes(path.read_bytes()[:-20])
    manifest_path = Path(f"{path}.manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest.update(
        size=path.stat().st_size,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    manifest_path.write_text(json.dumps(manifest))

    assert _refused(path) == f"Backup {path.name} is not a complete gzip file"


class TestRestoreBackupCommand:
    def test_a_corrupt_backup_exits_1_with_one_clear_line(self):
        path = _backup_path(backup_create())
        path.write_bytes(path.read_bytes()[:-1])

        done = manage("restore_backup", str(path), BACKUP_DIR=str(settings.BACKUP_DIR))

        assert done.returncode == 1
        last = done.stderr.strip().splitlines()[-1]
        assert last == (
            f"CommandError: Restore refused: Backup {path.name} is truncated or altered: "
            f"{path.stat().st_size} bytes, manifest says {path.stat().st_size + 1}"
        )

    def test_a_good_backup_is_restored_with_exit_code_0(self):
        ContactFactory()
        before = _snapshot()
        path = _backup_path(backup_create())
        _change_everything()

        done = manage(
            "restore_backup",
            "--noinput",
            str(path),
            BACKUP_DIR=str(settings.BACKUP_DIR),
        )

        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"Restored {path.name}")
        assert _snapshot() == before

    def test_without_noinput_it_asks_and_a_no_leaves_the_database_alone(self):
        ContactFactory()
        path = _backup_path(backup_create())
        _change_everything()
        before = _snapshot()

        done = manage(
            "restore_backup",
            str(path),
            stdin="no\n",
            BACKUP_DIR=str(settings.BACKUP_DIR),
        )

        assert done.returncode == 1
        assert "Type 'yes' to continue" in done.stdout
        assert done.stderr.strip().splitlines()[-1] == (
            "CommandError: Restore cancelled; the database was not changed"
        )
        assert _snapshot() == before

    def test_a_yes_restores_and_says_how_to_undo(self):
        ContactFactory()
        path = _backup_path(backup_create())
        _change_everything()

        done = manage(
            "restore_backup",
            str(path),
            stdin="yes\n",
            BACKUP_DIR=str(settings.BACKUP_DIR),
        )

        assert done.returncode == 0, done.stderr
        undo = done.stdout.strip().splitlines()[-1]
        assert undo.startswith("To undo: python manage.py restore_backup --noinput ")

    def test_the_safety_copy_restores_the_database_as_it_was_before(self):
        ContactFactory()
        path = _backup_path(backup_create())
        _change_everything()
        changed = _snapshot()

        safety = backup_restore(path=path)["safety_copy"]
        backup_restore(path=Path(safety))

        assert Path(safety).parent == Path(settings.BACKUP_DIR) / "pre-restore"
        assert _snapshot() == changed

    def test_a_missing_file_exits_1(self, tmp_path):
        done = manage("restore_backup", str(tmp_path / "nope.gz"))

        assert done.returncode == 1
        assert "Backup file nope.gz does not exist" in done.stderr


class TestRestoredRunningRuns:
    def test_a_backup_taken_by_the_backup_task_can_be_restored_and_backed_up_again(
        self,
    ):
        first = task_execute(task_id="backup")
        path = _backup_path(json.loads(first.result))

        backup_restore(path=path)
        again = task_execute(task_id="backup")

        assert again.status == "completed"

    def test_a_run_restored_while_running_is_interrupted_with_the_reason(self):
        first = task_execute(task_id="backup")

        backup_restore(path=_backup_path(json.loads(first.result)))

        restored = TaskLog.objects.get(run_id=first.run_id)
        assert restored.status == "interrupted"
        assert restored.error == "Restored from a backup taken while it was running"
        assert restored.completed_at is not None


def _replace_body(path: Path, body: bytes, *, method: str | None = None) -> Path:
    """Put ``body`` in place of backup ``path``, its manifest matching it again."""
    manifest_path = Path(f"{path}.manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest.update(size=len(body), sha256=hashlib.sha256(body).hexdigest())
    manifest["method"] = method or manifest["method"]
    path.write_bytes(body)
    manifest_path.write_text(json.dumps(manifest))
    return path


# A gzip header followed by a deflate block of the reserved type 3.
_BAD_DEFLATE = bytes.fromhex("1f8b0800000000000003") + b"\xff" * 64


class TestUnreadableBackupsWithAMatchingManifest:
    def test_corrupt_gzip_data_is_refused(self):
        path = _replace_body(_backup_path(backup_create()), _BAD_DEFLATE)

        assert _refused(path) == f"Backup {path.name} is not valid gzip data"

    def test_a_sqlite_snapshot_that_is_no_database_is_refused(self):
        if connection.vendor != "sqlite":
            pytest.skip("a SQLite snapshot is refused by vendor on PostgreSQL")
        path = _replace_body(
            _backup_path(backup_create()), gzip.compress(b"not a database" * 99)
        )

        assert _refused(path) == "The SQLite snapshot is not a readable database"

    def test_a_dumpdata_file_that_is_no_fixture_is_refused_and_the_database_kept(self):
        ContactFactory()
        before = _snapshot()
        body = gzip.compress(b"<not-xml")
        path = _replace_body(_backup_path(backup_create()), body, method="dumpdata")

        message = _refused(path)

        assert message == "The dumpdata file is not a readable fixture"
        assert _snapshot() == before

    def test_the_command_exits_1_with_one_line_and_no_traceback(self):
        path = _replace_body(_backup_path(backup_create()), _BAD_DEFLATE)

        done = manage(
            "restore_backup",
            "--noinput",
            str(path),
            BACKUP_DIR=str(settings.BACKUP_DIR),
        )

        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines()[-1] == (
            f"CommandError: Restore refused: Backup {path.name} is not valid gzip data"
        )


class TestPrivateFiles:
    def test_the_backup_and_its_manifest_are_readable_by_their_owner_only(self):
        path = _backup_path(backup_create())

        modes = {
            stat.S_IMODE(p.stat().st_mode)
            for p in (path, Path(f"{path}.manifest.json"))
        }

        assert modes == {0o600}

    def test_a_new_backup_directory_is_private(self):
        backup_create()

        assert stat.S_IMODE(Path(settings.BACKUP_DIR).stat().st_mode) == 0o700

    def test_the_reports_are_readable_by_their_owner_only(self):
        written = report_write(report=report_build())

        directory = Path(settings.REPORT_DIR)
        paths = [directory / written["json"], directory / written["html"]]
        assert {stat.S_IMODE(path.stat().st_mode) for path in paths} == {0o600}
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


_PG_SETTINGS = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "autom8",
    "USER": "app",
    "PASSWORD": "s3cret pass",
    "HOST": "db.internal",
    "PORT": "6432",
    "OPTIONS": {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ssl/ca.pem",
        "sslcert": "/etc/ssl/client.crt",
        "sslkey": "/etc/ssl/client.key",
        "target_session_attrs": "read-write",
        "connect_timeout": 5,
        "isolation_level": 2,
        "server_side_binding": True,
    },
}


class TestPgClientConnection:
    def test_libpq_options_of_the_settings_reach_the_connection_string(self):
        args, _ = pg_client_connection(_PG_SETTINGS)

        assert args[0] == "--dbname"
        assert conninfo_to_dict(args[1]) == {
            "dbname": "autom8",
            "user": "app",
            "host": "db.internal",
            "port": "6432",
            "sslmode": "verify-full",
            "sslrootcert": "/etc/ssl/ca.pem",
            "sslcert": "/etc/ssl/client.crt",
            "sslkey": "/etc/ssl/client.key",
            "target_session_attrs": "read-write",
            "connect_timeout": "5",
        }

    def test_the_password_travels_in_the_environment_only(self):
        args, env = pg_client_connection(_PG_SETTINGS)

        assert env["PGPASSWORD"] == "s3cret pass"
        assert not any("s3cret" in arg for arg in args)

    def test_server_options_are_added_to_the_configured_ones(self):
        cfg = {**_PG_SETTINGS, "OPTIONS": {"options": "-c search_path=app"}}

        args, _ = pg_client_connection(cfg, server_options="-c lock_timeout=30s")

        assert (
            conninfo_to_dict(args[1])["options"]
            == "-c search_path=app -c lock_timeout=30s"
        )


def test_pg_dump_honours_the_sslmode_of_the_settings(monkeypatch, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump backs up PostgreSQL only")
    options = {
        **connection.settings_dict["OPTIONS"],
        "sslmode": "verify-full",
        "sslrootcert": str(tmp_path / "missing-ca.pem"),
    }
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)

    with pytest.raises(RuntimeError) as caught:
        backup_create()

    assert str(caught.value).startswith("pg_dump failed:")
