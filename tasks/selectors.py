"""Reads of the automation engine: scheduler state, tasks, task logs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from tasks.models import SchedulerLease

LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class SchedulerState:
    """Who leads the scheduler and how fresh its heartbeat is."""

    health: str  # "ok" | "stale" | "not_running"
    leader: str | None
    heartbeat_at: datetime | None

    @property
    def running(self) -> bool:
        """A leader has beaten its heart within the lease."""
        return self.health == "ok"


def scheduler_state(*, now: datetime | None = None) -> SchedulerState:
    """The scheduler's state from the lease row.

    ``ok`` while the leader's heartbeat is younger than the lease,
    ``stale`` once it is older (the leader hung or died without releasing),
    ``not_running`` when no scheduler holds or ever held the lease.
    """
    now = now or timezone.now()
    lease = SchedulerLease.objects.filter(name=LEASE_NAME).first()
    if lease is None or not lease.owner or lease.heartbeat_at is None:
        return SchedulerState(health="not_running", leader=None, heartbeat_at=None)
    age = now - lease.heartbeat_at
    if age <= timedelta(seconds=settings.SCHEDULER_LEASE_SECONDS):
        return SchedulerState(health="ok", leader=lease.owner, heartbeat_at=lease.heartbeat_at)
    return SchedulerState(health="stale", leader=None, heartbeat_at=None)
