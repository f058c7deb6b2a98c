"""Flat models of the automation engine: tasks, their runs, the scheduler lease."""

import uuid

from django.db import models
from django.db.models import Q

TASK_LOG_LIST_DEFAULT_LIMIT = 50
TASK_LOG_LIST_MAX_LIMIT = 500


class Task(models.Model):
    """A registered task's schedule and switch; the code lives in the registry."""

    id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=100)
    schedule = models.CharField(max_length=100)
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class TaskLog(models.Model):
    """One run of a task, from start to outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        INTERRUPTED = "interrupted"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"

    run_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task_type = models.CharField(max_length=64)
    task_name = models.CharField(max_length=100)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    trigger = models.CharField(
        max_length=16, choices=Trigger.choices, default=Trigger.MANUAL
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    owner = models.CharField(max_length=255, blank=True, default="")
    # A queued run's request time until the scheduler starts it.
    started_at = models.DateTimeField()
    # Refreshed by the running process; a run on another host whose heartbeat
    # went stale is presumed dead (its pid cannot be checked from here).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["task_type", "-started_at"], name="tasklog_type_started"
            ),
            models.Index(
                fields=["status", "-started_at"], name="tasklog_status_started"
            ),
            models.Index(fields=["-started_at"], name="tasklog_started"),
        ]
        constraints = [
            # A scheduled fire runs at most once, however many schedulers race.
            models.UniqueConstraint(
                fields=["task_type", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="tasklog_one_run_per_fire",
            ),
            # No overlap: at most one queued or running run per task, even
            # when two starts or run requests race past the check.
            models.UniqueConstraint(
                fields=["task_type"],
                condition=Q(status__in=["queued", "running"]),
                name="tasklog_one_active_per_task",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_type} {self.status} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class SchedulerLease(models.Model):
    """The scheduler leader's lease and heartbeat (one row per lease name)."""

    name = models.CharField(primary_key=True, max_length=32, default="scheduler")
    owner = models.CharField(max_length=255, blank=True, default="")
    acquired_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner or 'nobody'}"
