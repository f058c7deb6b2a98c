"""Failure alerts by email (HTML and text), sent through Django's email framework."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from tasks.models import TaskLog

logger = logging.getLogger(__name__)

# An unreachable mail server must not hold a task's thread for long.
ALERT_SEND_TIMEOUT_SECONDS = 10


def task_failure_alert(log: TaskLog) -> bool:
    """Email ``ALERT_EMAILS`` about the failed run ``log``; True when sent.

    Sending problems are logged and swallowed: an alert never breaks a run.
    """
    recipients = list(settings.ALERT_EMAILS)
    if not recipients:
        return False
    context = {"log": log, "environment": settings.AUTOM8_ENV}
    try:
        message = EmailMultiAlternatives(
            subject=f"[Autom8] Task '{log.task_type}' failed",
            body=render_to_string("tasks/alert_email.txt", context),
            to=recipients,
            connection=get_connection(timeout=ALERT_SEND_TIMEOUT_SECONDS),
        )
        message.attach_alternative(
            render_to_string("tasks/alert_email.html", context), "text/html"
        )
        message.send()
    except Exception:
        logger.exception("Failure alert for task run %s could not be sent", log.run_id)
        return False
    logger.info("Failure alert for task run %s sent", log.run_id)
    return True
