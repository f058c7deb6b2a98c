"""The cleanup task removes exactly what is due, and nothing else."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_apscheduler.models import DjangoJob, DjangoJobExecution
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)

from security.models import RevokedToken
from tasks.builtin.backup import backup_create, backup_files
from tasks.builtin.cleanup import cleanup_run
from tasks.models import TaskLog
from tasks.services.execution import task_execute
from tasks.tests.factories import TaskLogFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine_dirs")]

NOW = timezone.now()


def _days_ago(days: float):
    return NOW - timedelta(days=days)


def _token(*, expires_at, blacklisted: bool = False) -> OutstandingToken:
    token = OutstandingToken.objects.create(
        user=UserFactory(),
        jti=uuid.uuid4().hex,
        token="header.payload.signature",
        created_at=expires_at - timedelta(days=7),
        expires_at=expires_at,
    )
    if blacklisted:
        BlacklistedToken.objects.create(token=token)
    return token


def _session(*, expire_date) -> str:
    store = SessionStore()
    store["k"] = "v"
    store.create()
    Session.objects.filter(pk=store.session_key).update(expire_date=expire_date)
    return store.session_key


def test_task_logs_older_than_the_retention_are_deleted_newer_kept(settings):
    settings.TASK_LOG_RETENTION_DAYS = 30
    old = TaskLogFactory.create_batch(2, started_at=_days_ago(31))
    kept = [
        TaskLogFactory(started_at=_days_ago(29)),
        TaskLogFactory(started_at=_days_ago(1)),
    ]

    result = cleanup_run(now=NOW)

    assert result["task_logs"] == len(old)
    assert set(TaskLog.objects.values_list("pk", flat=True)) == {log.pk for log in kept}


def test_an_old_run_still_running_is_kept(settings):
    settings.TASK_LOG_RETENTION_DAYS = 30
    running = TaskLogFactory(status="running", started_at=_days_ago(40))

    result = cleanup_run(now=NOW)

    assert result["task_logs"] == 0
    assert TaskLog.objects.filter(pk=running.pk).exists()


def test_old_scheduler_job_executions_are_deleted_recent_kept(settings):
    settings.TASK_LOG_RETENTION_DAYS = 30
    job = DjangoJob.objects.create(id="backup", job_state=b"state")
    DjangoJobExecution.objects.create(
        job=job, status="Executed", run_time=_days_ago(31)
    )
    recent = DjangoJobExecution.objects.create(
        job=job, status="Executed", run_time=_days_ago(2)
    )

    result = cleanup_run(now=NOW)

    assert result["job_executions"] == 1
    assert list(DjangoJobExecution.objects.values_list("pk", flat=True)) == [recent.pk]


def test_backups_beyond_the_retention_are_deleted(settings):
    settings.BACKUP_KEEP = 5
    names = [backup_create()["file"] for _ in range(3)]
    settings.BACKUP_KEEP = 1

    result = cleanup_run(now=NOW)

    assert result["backups"] == 2
    assert [path.name for path in backup_files()] == [names[-1]]


def test_expired_tokens_and_their_blacklist_entries_are_deleted():
    expired = [
        _token(expires_at=_days_ago(1), blacklisted=True).pk,
        _token(expires_at=_days_ago(2)).pk,
    ]
    live = _token(expires_at=NOW + timedelta(days=3), blacklisted=True)

    result = cleanup_run(now=NOW)

    # Only this test's rows are looked at: servers started by other tests
    # commit tokens of their own, which are not expired.
    assert (result["outstanding_tokens"], result["blacklisted_tokens"]) == (2, 1)
    assert not OutstandingToken.objects.filter(pk__in=expired).exists()
    assert OutstandingToken.objects.filter(pk=live.pk).exists()
    assert not BlacklistedToken.objects.filter(token_id__in=expired).exists()
    assert BlacklistedToken.objects.filter(token_id=live.pk).exists()


def test_expired_sessions_are_deleted_live_ones_kept():
    _session(expire_date=_days_ago(1))
    live = _session(expire_date=NOW + timedelta(days=1))

    result = cleanup_run(now=NOW)

    assert result["sessions"] == 1
    assert list(Session.objects.values_list("pk", flat=True)) == [live]


def test_revocations_of_expired_tokens_are_deleted_live_ones_kept():
    RevokedToken.objects.create(key="jti:old", expires_at=_days_ago(1))
    RevokedToken.objects.create(key="sid:live", expires_at=NOW + timedelta(days=1))

    result = cleanup_run(now=NOW)

    assert result["revoked_tokens"] == 1
    assert list(RevokedToken.objects.values_list("key", flat=True)) == ["sid:live"]


def test_nothing_due_removes_nothing():
    TaskLogFactory()

    result = cleanup_run(now=NOW)

    assert set(result.values()) == {0}
    assert TaskLog.objects.count() == 1


def test_the_cleanup_task_reports_its_counts_in_the_result(settings):
    settings.TASK_LOG_RETENTION_DAYS = 30
    TaskLogFactory(started_at=timezone.now() - timedelta(days=45))

    log = task_execute(task_id="cleanup")

    assert log.status == "completed"
    assert '"task_logs": 1' in log.result
