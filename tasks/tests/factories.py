"""Factories of the automation engine's models."""

import factory
from django.utils import timezone

from tasks.models import SchedulerLease, Task, TaskLog


class TaskFactory(factory.django.DjangoModelFactory):
    """A task row: enabled, hourly."""

    class Meta:
        model = Task
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"task{n}")
    name = factory.LazyAttribute(lambda t: f"Task {t.id}")
    schedule = "0 * * * *"
    is_enabled = True


class TaskLogFactory(factory.django.DjangoModelFactory):
    """A finished, successful manual run of ``cleanup``."""

    class Meta:
        model = TaskLog

    task_type = "cleanup"
    task_name = "Hourly Cleanup"
    status = TaskLog.Status.COMPLETED
    trigger = TaskLog.Trigger.MANUAL
    owner = "node1:4242"
    started_at = factory.LazyFunction(timezone.now)
    completed_at = factory.LazyAttribute(
        lambda log: None if log.status == TaskLog.Status.RUNNING else log.started_at
    )
    result = '{"deleted": 0}'
    error = None


class SchedulerLeaseFactory(factory.django.DjangoModelFactory):
    """The scheduler lease, held by a leader that beat its heart just now."""

    class Meta:
        model = SchedulerLease
        django_get_or_create = ("name",)

    name = "scheduler"
    owner = "node1:4242"
    acquired_at = factory.LazyFunction(timezone.now)
    heartbeat_at = factory.LazyFunction(timezone.now)
    expires_at = None
