"""Leader election among scheduler processes, and the heartbeat row.

Exactly one ``runscheduler`` process leads at a time. On PostgreSQL the
leader holds a session-level advisory lock on a connection of its own: the
server frees the lock the moment that session ends, so a killed leader is
replaced at the next follower poll. Elsewhere (SQLite) the leader holds a
lease row it renews every heartbeat; a follower claims the row once the
lease has expired. Either way the leader writes the ``SchedulerLease`` row
(owner ``host:pid`` and heartbeat time) that ``scheduler_state()`` reads.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from tasks.models import SchedulerLease
from tasks.selectors import LEASE_NAME
from tasks.services.zombies import current_owner

logger = logging.getLogger("autom8.scheduler")

# pg_try_advisory_lock key: "AUTOM8" in ASCII, unique to this application.
ADVISORY_LOCK_KEY = 0x4155544F4D38
_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


class Leadership:
    """Base of the election strategies: claim, keep and give up leadership."""

    def __init__(self, *, identity: str | None = None) -> None:
        self.identity = identity or current_owner()
        self.leading = False

    def try_lead(self, *, now: datetime | None = None) -> bool:
        """Become or stay leader and beat the heart; True while leading."""
        raise NotImplementedError

    def release(self) -> None:
        """Give up leadership and clear the owner of the heartbeat row."""
        raise NotImplementedError

    def _lease_length(self) -> timedelta:
        return timedelta(seconds=settings.SCHEDULER_LEASE_SECONDS)

    def _ensure_row(self) -> None:
        """Create the lease row once; concurrent creators are harmless."""
        if SchedulerLease.objects.filter(name=LEASE_NAME).exists():
            return
        try:
            with transaction.atomic():
                SchedulerLease.objects.create(name=LEASE_NAME)
        except IntegrityError:
            pass

    def _clear_owner(self) -> None:
        """Blank the row's owner if it is still this process."""
        now = timezone.now()
        SchedulerLease.objects.filter(name=LEASE_NAME, owner=self.identity).update(
            owner="", expires_at=now
        )


class LeaseLeadership(Leadership):
    """Leadership through an expiring lease row (any database; used on SQLite)."""

    def __init__(self, *, identity: str | None = None) -> None:
        super().__init__(identity=identity)
        self._expires_at: datetime | None = None

    def try_lead(self, *, now: datetime | None = None) -> bool:
        """Claim the lease when free or expired, renew it when held.

        One conditional UPDATE decides, so two followers racing for an
        expired lease cannot both win. When the database cannot be reached
        the leader keeps leading only while its lease outlasts the next
        heartbeat, then steps down.
        """
        now = now or timezone.now()
        try:
            self._ensure_row()
            claimed = self._claim(now)
        except DatabaseError:
            logger.exception("Scheduler lease could not be renewed")
            heartbeat = timedelta(seconds=settings.SCHEDULER_HEARTBEAT_SECONDS)
            claimed = bool(
                self.leading and self._expires_at and now + heartbeat < self._expires_at
            )
        else:
            if claimed:
                self._expires_at = now + self._lease_length()
        self.leading = claimed
        return claimed

    def _claim(self, now: datetime) -> bool:
        free = Q(owner="") | Q(owner=self.identity) | Q(expires_at__isnull=True)
        updated = SchedulerLease.objects.filter(
            Q(name=LEASE_NAME) & (free | Q(expires_at__lt=now))
        ).update(
            acquired_at=Case(
                When(owner=self.identity, then=F("acquired_at")),
                default=Value(now),
                output_field=DateTimeField(),
            ),
            owner=self.identity,
            heartbeat_at=now,
            expires_at=now + self._lease_length(),
        )
        return updated == 1

    def release(self) -> None:
        """Blank the owner so a follower may claim the lease at once."""
        self.leading = False
        self._expires_at = None
        try:
            self._clear_owner()
        except DatabaseError:
            logger.exception("Scheduler lease could not be released")


class AdvisoryLockLeadership(Leadership):
    """Leadership through a PostgreSQL session-level advisory lock."""

    def __init__(self, *, identity: str | None = None) -> None:
        super().__init__(identity=identity)
        self._conn: psycopg.Connection | None = None

    def try_lead(self, *, now: datetime | None = None) -> bool:
        """Take the lock (followers) or check its session is alive (leader).

        A broken lock connection means the server has released the lock,
        so leadership is lost at once.
        """
        now = now or timezone.now()
        try:
            held = self._hold_lock()
        except psycopg.Error:
            logger.exception("Scheduler advisory lock connection failed")
            self._drop_connection()
            held = False
        if held:
            self._beat(now, newly=not self.leading)
        self.leading = held
        return held

    def _hold_lock(self) -> bool:
        if self._conn is not None and self.leading:
            self._conn.execute("SELECT 1")
            return True
        if self._conn is None:
            self._conn = psycopg.connect(**_lock_connection_params(), autocommit=True)
        row = self._conn.execute(
            "SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY]
        ).fetchone()
        return bool(row and row[0])

    def _beat(self, now: datetime, *, newly: bool) -> None:
        """Write the heartbeat row; the lock, not this row, decides leadership."""
        fields = {
            "owner": self.identity,
            "heartbeat_at": now,
            "expires_at": now + self._lease_length(),
        }
        if newly:
            fields["acquired_at"] = now
        try:
            self._ensure_row()
            SchedulerLease.objects.filter(name=LEASE_NAME).update(**fields)
        except DatabaseError:
            logger.exception("Scheduler heartbeat could not be written")

    def release(self) -> None:
        """Unlock, close the lock connection and blank the heartbeat row."""
        if self._conn is not None and self.leading:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
            except psycopg.Error:
                logger.warning("Scheduler advisory lock was already gone at release")
        self._drop_connection()
        self.leading = False
        try:
            self._clear_owner()
        except DatabaseError:
            logger.exception("Scheduler heartbeat row could not be cleared")

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


def _lock_connection_params(database=None) -> dict:
    """psycopg keyword arguments for the dedicated lock session.

    Built by the Django backend itself (``get_connection_params``) from the
    whole DATABASES entry, so every OPTIONS key (``sslmode``,
    ``sslrootcert``, ``sslcert``, ``sslkey``, ``service``, ...) reaches the
    lock session as it reaches every other connection. ``database`` is a
    PostgreSQL ``DatabaseWrapper``; the default connection when omitted.
    """
    params = (database or connection).get_connection_params()
    # Django's cursor class and adapters; the lock session runs plain SQL.
    for name in ("cursor_factory", "context"):
        params.pop(name, None)
    params["application_name"] = "autom8-scheduler-leader"
    params.setdefault("connect_timeout", 5)
    # Detect a dead peer in seconds, not hours: the lock lives as long as
    # the server believes this session does.
    for name, value in _KEEPALIVES.items():
        params.setdefault(name, value)
    return params


def leadership_for_database() -> Leadership:
    """The election strategy that fits the configured database."""
    if connection.vendor == "postgresql":
        return AdvisoryLockLeadership()
    return LeaseLeadership()
