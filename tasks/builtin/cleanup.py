"""The ``cleanup`` task: removes what has outlived its retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import QuerySet
from django.utils import timezone
from django_apscheduler.models import DjangoJobExecution
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)

from security.models import RevokedToken
from tasks.builtin.backup import backup_debris_remove, backup_prune
from tasks.models import TaskLog
from tasks.registry import register


@register("cleanup", name="Hourly Cleanup", schedule="0 * * * *")
def hourly_cleanup() -> dict:
    """Delete expired rows and surplus backups; returns counts per kind."""
    return cleanup_run()


def _deleted(queryset: QuerySet) -> int:
    """Delete the rows of ``queryset`` (not cascades); returns how many."""
    _, per_model = queryset.delete()
    return per_model.get(queryset.model._meta.label, 0)


def cleanup_run(*, now: datetime | None = None) -> dict:
    """Delete what is due at ``now``; returns how many of each kind went.

    Task logs and scheduler job executions older than
    ``TASK_LOG_RETENTION_DAYS`` (runs still ``running`` are kept, zombie
    reconciliation settles them), backups beyond the newest ``BACKUP_KEEP``,
    what killed backups left behind, expired JWT blacklist and outstanding
    tokens, expired sessions and revocations of tokens that have expired
    anyway.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TASK_LOG_RETENTION_DAYS)
    old_logs = TaskLog.objects.filter(started_at__lt=cutoff).exclude(
        status=TaskLog.Status.RUNNING
    )
    return {
        "task_logs": _deleted(old_logs),
        "job_executions": _deleted(
            DjangoJobExecution.objects.filter(run_time__lt=cutoff)
        ),
        "backups": backup_prune(),
        "backup_debris": backup_debris_remove(now=now),
        # Blacklist entries first: they would otherwise go as cascades uncounted.
        "blacklisted_tokens": _deleted(
            BlacklistedToken.objects.filter(token__expires_at__lt=now)
        ),
        "outstanding_tokens": _deleted(
            OutstandingToken.objects.filter(expires_at__lt=now)
        ),
        "sessions": _deleted(Session.objects.filter(expire_date__lt=now)),
        "revoked_tokens": _deleted(RevokedToken.objects.filter(expires_at__lt=now)),
    }
