"""Writes to the task catalogue: seeding from the registry, switches, schedules."""

from __future__ import annotations

import logging

from django.db import transaction

from contract.errors import NotFound
from tasks import registry
from tasks.models import Task
from tasks.scheduler.cron import schedule_normalise
from tasks.selectors import TaskOverview, task_overview

logger = logging.getLogger("autom8.tasks")


def task_seed() -> list[Task]:
    """A row for every registered task, inserting the missing ones.

    New rows take the registry's default schedule and are enabled; existing
    rows keep their schedule and switch, only the display name follows the
    code. Safe to run from several processes at once.
    """
    definitions = registry.all_definitions()
    Task.objects.bulk_create(
        [Task(id=d.id, name=d.name, schedule=d.default_schedule) for d in definitions],
        ignore_conflicts=True,
    )
    rows = {
        task.pk: task
        for task in Task.objects.filter(pk__in=[d.id for d in definitions])
    }
    for definition in definitions:
        task = rows[definition.id]
        if task.name != definition.name:
            task.name = definition.name
            task.save(update_fields=["name", "updated_at"])
    return [rows[d.id] for d in definitions]


def task_toggle(*, task_id: str, enabled: bool) -> Task:
    """Switch a task on or off. Raises NotFound for an unregistered id."""
    with transaction.atomic():
        task = _task_for_update(task_id)
        task.is_enabled = enabled
        task.save(update_fields=["is_enabled", "updated_at"])
    logger.info("Task %s %s", task_id, "enabled" if enabled else "disabled")
    return task


def task_reschedule(*, task_id: str, schedule: str) -> TaskOverview:
    """Give a task a new cron schedule; returns it with its last and next run.

    Raises Invalid (field ``schedule``) for a malformed expression and
    NotFound for an unregistered id.
    """
    normalised = schedule_normalise(schedule)
    with transaction.atomic():
        task = _task_for_update(task_id)
        task.schedule = normalised
        task.save(update_fields=["schedule", "updated_at"])
    logger.info("Task %s rescheduled to '%s'", task_id, normalised)
    return task_overview(task)


def task_update(*, task: Task, enabled: bool, schedule: str) -> Task:
    """Apply an edited switch and schedule (the admin form) to a task."""
    task_reschedule(task_id=task.pk, schedule=schedule)
    return task_toggle(task_id=task.pk, enabled=enabled)


def _task_for_update(task_id: str) -> Task:
    """The locked row of a registered task, created from the registry if absent."""
    definition = registry.get_definition(task_id)
    if definition is None:
        raise NotFound(f"Task '{task_id}' not found")
    task, _ = Task.objects.select_for_update().get_or_create(
        pk=task_id,
        defaults={"name": definition.name, "schedule": definition.default_schedule},
    )
    return task
