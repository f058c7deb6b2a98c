"""The error log file: private, shared by processes, read newest first."""

from __future__ import annotations

import json
import logging
import stat

from security.errorlog import PrivateRotatingFileHandler, error_log_entries


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("autom8.test", logging.ERROR, "", 0, message, (), None)


def _handler(path, max_bytes: int = 10**6) -> PrivateRotatingFileHandler:
    handler = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=3)
    handler.setFormatter(logging.Formatter('{"message": "%(message)s"}'))
    return handler


def test_a_new_folder_and_file_are_private(tmp_path):
    path = tmp_path / "logs" / "errors.jsonl"
    handler = _handler(path)

    handler.emit(_record("boom"))
    handler.close()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_rotation_by_another_process_is_followed(tmp_path):
    path = tmp_path / "errors.jsonl"
    first, second = _handler(path, max_bytes=60), _handler(path)
    first.emit(_record("a" * 30))
    second.emit(_record("b" * 30))

    first.emit(_record("c" * 30))  # rotates: the file moves to errors.jsonl.1
    second.emit(_record("d" * 5))
    first.close()
    second.close()

    assert "d" * 5 in path.read_text()


def test_entries_are_read_newest_first_across_rotated_files(settings, tmp_path):
    settings.ERROR_LOG_FILE = tmp_path / "errors.jsonl"
    settings.ERROR_LOG_BACKUPS = 2
    (tmp_path / "errors.jsonl.1").write_text(
        "\n".join(json.dumps({"n": n}) for n in range(3)) + "\n"
    )
    (tmp_path / "errors.jsonl").write_text(
        "\n".join(json.dumps({"n": n}) for n in range(3, 5)) + "\nnot json\n"
    )

    assert [entry["n"] for entry in error_log_entries()] == [4, 3, 2, 1, 0]


def test_long_files_are_read_across_block_boundaries(settings, tmp_path):
    settings.ERROR_LOG_FILE = tmp_path / "errors.jsonl"
    lines = [json.dumps({"n": n, "pad": "x" * 300}) for n in range(1000)]
    settings.ERROR_LOG_FILE.write_text("\n".join(lines) + "\n")

    entries = list(error_log_entries(limit=600))

    assert [entry["n"] for entry in entries] == list(range(999, 399, -1))
