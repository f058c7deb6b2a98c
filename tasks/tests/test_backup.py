"""The backup task and restore_backup: identical data back, bad files refused."""

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from contacts.tests.factories import ContactFactory
from tasks.builtin.backup import (
    BackupRefused,
    backup_create,
    backup_files,
    backup_restore,
)
from tasks.models import TaskLog
from tasks.services.execution import task_execute
from tasks.tests.factories import TaskFactory, TaskLogFactory
from tasks.tests.support import manage
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("engine_dirs")]

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
    TaskFactory(id="backup", name="Daily Backup", schedule="0 2 * * *", is_enabled=False)
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
    assert manifest["sha256"] == result["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
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

    assert message == f"Backup {path.name} is corrupt: SHA-256 does not match the manifest"
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

        done = manage("restore_backup", str(path), BACKUP_DIR=str(settings.BACKUP_DIR))

        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"Restored {path.name}")
        assert _snapshot() == before

    def test_a_missing_file_exits_1(self, tmp_path):
        done = manage("restore_backup", str(tmp_path / "nope.gz"))

        assert done.returncode == 1
        assert "Backup file nope.gz does not exist" in done.stderr
