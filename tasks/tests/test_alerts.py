"""Failure alerts: sent by email through Django, harmless when sending fails."""

import logging

import pytest
from django.core import mail

from tasks.models import TaskLog
from tasks.services.execution import task_execute

pytestmark = pytest.mark.usefixtures("engine_dirs")


def _fails():
    raise RuntimeError("upstream refused")


@pytest.fixture
def alerting(settings):
    settings.ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.mark.django_db
class TestFailureAlerts:
    def test_a_failure_emails_every_alert_recipient(self, alerting, make_task):
        task_id = make_task(_fails)

        task_execute(task_id=task_id)

        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["ops@example.com", "oncall@example.com"]
        assert mail.outbox[0].subject == f"[Autom8] Task '{task_id}' failed"

    def test_the_alert_has_text_and_html_bodies_naming_the_error(
        self, alerting, make_task
    ):
        task_id = make_task(_fails)

        log = task_execute(task_id=task_id)

        message = mail.outbox[0]
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html"
        assert "RuntimeError: upstream refused" in message.body
        assert str(log.run_id) in message.body
        assert "RuntimeError: upstream refused" in html
        assert "<html" in html

    def test_a_success_sends_no_alert(self, alerting, make_task):
        task_id = make_task(lambda: {})

        task_execute(task_id=task_id)

        assert mail.outbox == []

    def test_no_alert_without_recipients(self, settings, make_task):
        settings.ALERT_EMAILS = []
        task_id = make_task(_fails)

        task_execute(task_id=task_id)

        assert mail.outbox == []

    def test_an_alert_that_cannot_be_sent_leaves_the_run_recorded(
        self, alerting, settings, make_task
    ):
        settings.EMAIL_BACKEND = "tasks.tests.support.BrokenEmailBackend"
        task_id = make_task(_fails)

        log = task_execute(task_id=task_id)

        stored = TaskLog.objects.get(pk=log.pk)
        assert (stored.status, stored.error) == (
            "failed",
            "RuntimeError: upstream refused",
        )

    def test_an_alert_that_cannot_be_sent_is_logged(
        self, alerting, settings, make_task, caplog
    ):
        settings.EMAIL_BACKEND = "tasks.tests.support.BrokenEmailBackend"
        task_id = make_task(_fails)

        with caplog.at_level(logging.ERROR, logger="tasks.services.alerts"):
            log = task_execute(task_id=task_id)

        assert (
            f"Failure alert for task run {log.run_id} could not be sent" in caplog.text
        )
