"""Stored task errors are cleaned by the same redactor as log lines."""

from security.logging import redact
from tasks.services.sanitize import error_sanitise, text_sanitise


def test_a_task_error_masks_personal_data_like_the_logs_do():
    text = "no reply from amina@example.com on +254712345678"

    assert text_sanitise(text) == redact(text)


def test_a_phone_number_in_a_task_error_path_segment_is_masked():
    error = error_sanitise(ValueError("GET /api/v1/contacts/254712345678 failed"))

    assert "254712345678" not in error


def test_a_secret_assignment_in_a_task_error_is_masked():
    assert "hunter2" not in error_sanitise(RuntimeError("login password=hunter2"))


def test_a_task_error_stays_on_one_short_line():
    error = text_sanitise("line one\nline two " + "x " * 200)

    assert "\n" not in error
    assert len(error) <= 200
