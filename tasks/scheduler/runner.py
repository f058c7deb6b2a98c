"""The scheduler process: elect a leader, keep its jobs in step with the Task table.

This process is the only one that runs task code (``runtask`` aside):
scheduled fires, and the run requests the API and the admin queue.

Every process runs the same loop: it polls for leadership every second;
the leader renews it every heartbeat, runs an APScheduler
``BackgroundScheduler`` and re-reads the ``Task`` table every two seconds,
so a switch or schedule changed through the API or the admin reaches the
running scheduler within seconds. The ``Task`` table is the only place a
schedule is edited; django-apscheduler's job store only mirrors it (the
leader writes it, nobody edits it), which keeps each job's next run time
across a change of leader so a fire due meanwhile still happens. Every
second the leader also hands queued run requests to the same thread pool
as the fires, as one-off jobs in a memory job store. All processes replay
the fallback log and reconcile dead runs every heartbeat.

A ``BlockingScheduler`` would own the main thread and could only be
started or shut down as a whole, while this loop has to run whether or
not the process leads: followers poll for leadership, a leader that loses
it must stop firing at once and start again on re-election, and the Task
table is re-read between fires. So the loop keeps the main thread and
starts a ``BackgroundScheduler`` only while leading.

Whenever a process becomes leader (at start or after an outage), it first
imports the fallback file and reconciles dead runs, then resumes the jobs:
a run recorded while the database was down is in TaskLog before the first
(coalesced) fire, so that fire sees it instead of running the task twice.

On SIGTERM the leader stops taking fires and gives up leadership at once,
then waits for its run in flight; a follower leads meanwhile, and the
one-running-run-per-task constraint keeps it from running that task again
until the old run has finished.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from django import db
from django.conf import settings
from django_apscheduler.jobstores import DjangoJobStore
from django_apscheduler.models import DjangoJob

from contract.errors import Invalid
from tasks import registry
from tasks.models import Task
from tasks.scheduler.cron import schedule_timezone, schedule_trigger
from tasks.scheduler.jobs import in_flight, run_requested, run_scheduled_fire
from tasks.scheduler.leader import Leadership, leadership_for_database
from tasks.selectors import task_log_queued_ids
from tasks.services.catalog import task_seed
from tasks.services.execution import task_run_requests_expire
from tasks.services.fallback import fallback_replay
from tasks.services.zombies import task_logs_reconcile

logger = logging.getLogger("autom8.scheduler")

POLL_SECONDS = 1.0
SYNC_SECONDS = 2.0
EXECUTOR_THREADS = 8
REQUESTS_STORE = "requests"
REQUEST_JOB_PREFIX = "run-request-"


@dataclass(frozen=True)
class _Plan:
    """What a task's job should be: its schedule, or None when it is off."""

    schedule: str | None
    name: str


@dataclass(frozen=True)
class RunOutcome:
    """How the loop ended: ``cut_off`` when a run outlived the shutdown grace."""

    cut_off: bool


class SchedulerRunner:
    """One scheduler process: the election loop and, while leading, the jobs."""

    def __init__(self, *, leadership: Leadership | None = None) -> None:
        self.leadership = leadership or leadership_for_database()
        self._stop = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self._applied: dict[str, _Plan] = {}
        # Run requests handed to the pool and not finished yet; the lock
        # guards it against the job-event listener's thread.
        self._dispatched: set[int] = set()
        self._dispatched_lock = threading.Lock()

    def request_stop(self) -> None:
        """Ask the loop to finish (signal handlers call this)."""
        self._stop.set()

    def run(self) -> RunOutcome:
        """Loop until asked to stop; then let a running task finish and step down."""
        logger.info("Scheduler %s starting", self.leadership.identity)
        self._guarded("task seeding", task_seed)
        heartbeat = settings.SCHEDULER_HEARTBEAT_SECONDS
        next_beat = next_sync = next_maintenance = 0.0
        while not self._stop.is_set():
            clock = time.monotonic()
            db.close_old_connections()
            if not self.leadership.leading or clock >= next_beat:
                if self._elect():
                    next_maintenance = clock + heartbeat
                next_beat = clock + heartbeat
            if self._scheduler is not None and clock >= next_sync:
                self._guarded("job sync", self._sync)
                next_sync = clock + SYNC_SECONDS
            if self._scheduler is not None:
                self._guarded("run request dispatch", self._dispatch_requests)
            if clock >= next_maintenance:
                self._maintain()
                next_maintenance = clock + heartbeat
            self._stop.wait(min(POLL_SECONDS, heartbeat))
        return self._shutdown()

    def _elect(self) -> bool:
        """Claim or renew leadership; start or stop the jobs to match.

        Returns True when the jobs were (re)started, which includes a
        fresh replay of the fallback file and a reconciliation.
        """
        leading = self.leadership.try_lead()
        if leading and self._scheduler is None:
            logger.info("Scheduler %s is now the leader", self.leadership.identity)
            self._guarded("scheduler start", self._start_jobs)
            return True
        if not leading and self._scheduler is not None:
            logger.warning(
                "Scheduler %s lost leadership; stopping its jobs",
                self.leadership.identity,
            )
            self._stop_jobs()
        return False

    def _start_jobs(self) -> None:
        """Catch up on runs, start APScheduler paused, replace every job, resume.

        The fallback file is imported and dead runs are reconciled before
        any fire: a due (or coalesced missed) fire must find the runs that
        happened while the database was down.
        """
        self._maintain()
        scheduler = BackgroundScheduler(
            timezone=schedule_timezone(),
            jobstores={"default": DjangoJobStore(), REQUESTS_STORE: MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=EXECUTOR_THREADS)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": settings.SCHEDULER_MISFIRE_GRACE_SECONDS,
            },
        )
        scheduler.add_listener(
            _log_unrun_fire, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED
        )
        scheduler.add_listener(
            self._request_finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
        )
        scheduler.start(paused=True)
        self._scheduler = scheduler
        self._applied = {}
        try:
            self._sync(initial=True)
        except Exception:
            self._stop_jobs()
            raise
        scheduler.resume()

    def _stop_jobs(self, *, wait: bool = False) -> None:
        scheduler, self._scheduler = self._scheduler, None
        self._applied = {}
        with self._dispatched_lock:
            self._dispatched.clear()
        if scheduler is None:
            return
        try:
            scheduler.shutdown(wait=wait)
        except Exception:
            logger.exception("Scheduler shutdown failed")

    def _sync(self, *, initial: bool = False) -> None:
        """Make the job store match the Task table.

        At start every job is written afresh (``replace_existing``): the
        store silently drops jobs it cannot unpickle, and jobs of tasks that
        are unknown or off are removed. A job whose schedule did not change
        keeps its stored next run time, so a fire missed while no leader
        ran still happens within the misfire grace (coalesced to one run).
        """
        if initial:
            task_seed()
        plans = self._plans()
        stored = set(DjangoJob.objects.values_list("id", flat=True))
        for task_id in sorted(
            stored - {tid for tid, plan in plans.items() if plan.schedule}
        ):
            self._remove_job(task_id)
        for task_id, plan in plans.items():
            if plan.schedule is None:
                self._applied[task_id] = plan
                continue
            if not initial and self._applied.get(task_id) == plan and task_id in stored:
                continue
            self._add_job(task_id, plan, keep_next_run=initial)

    def _plans(self) -> dict[str, _Plan]:
        """The wanted job of each registered task, from its Task row."""
        rows = {task.pk: task for task in Task.objects.all()}
        plans = {}
        for definition in registry.all_definitions():
            task = rows.get(definition.id)
            if task is None:
                continue
            schedule = task.schedule if task.is_enabled else None
            plans[definition.id] = _Plan(schedule=schedule, name=task.name)
        return plans

    def _add_job(self, task_id: str, plan: _Plan, *, keep_next_run: bool) -> None:
        try:
            trigger = schedule_trigger(plan.schedule, tz=schedule_timezone())
        except Invalid:
            logger.error(
                "Task %s has an invalid schedule '%s'; not scheduled",
                task_id,
                plan.schedule,
            )
            self._remove_job(task_id)
            self._applied[task_id] = plan
            return
        options = {}
        kept = self._stored_next_run(task_id, trigger) if keep_next_run else None
        if kept is not None:
            options["next_run_time"] = kept
        self._scheduler.add_job(
            run_scheduled_fire,
            trigger=trigger,
            args=[task_id, plan.schedule],
            id=task_id,
            name=plan.name,
            replace_existing=True,
            **options,
        )
        self._applied[task_id] = plan
        logger.info("Task %s scheduled '%s'", task_id, plan.schedule)

    def _stored_next_run(self, task_id: str, trigger):
        """The stored job's next run time if its trigger is the same, else None."""
        try:
            job = self._scheduler.get_job(task_id)
        except Exception:  # noqa: BLE001 - an unreadable pickle is simply replaced
            return None
        if job is None or _trigger_key(job.trigger) != _trigger_key(trigger):
            return None
        return job.next_run_time

    def _remove_job(self, task_id: str) -> None:
        try:
            self._scheduler.remove_job(task_id)
        except JobLookupError:
            return
        logger.info("Job %s removed from the scheduler", task_id)

    def _dispatch_requests(self) -> None:
        """Hand every queued run request not yet handed over to the pool.

        Each becomes a one-off job (no trigger: it runs at once) in the
        memory store; the job claims its log, so a request is executed once
        even if another scheduler handed it over too.
        """
        queued = task_log_queued_ids()
        with self._dispatched_lock:
            fresh = [log_id for log_id in queued if log_id not in self._dispatched]
            self._dispatched.update(fresh)
        for log_id in fresh:
            try:
                self._scheduler.add_job(
                    run_requested,
                    args=[log_id],
                    id=f"{REQUEST_JOB_PREFIX}{log_id}",
                    name=f"Run request {log_id}",
                    jobstore=REQUESTS_STORE,
                    misfire_grace_time=None,
                )
            except ConflictingIdError:
                continue
            logger.info("Run request %s handed to the pool", log_id)

    def _request_finished(self, event) -> None:
        """Forget a finished run request, so a failed claim is retried."""
        if event.jobstore != REQUESTS_STORE:
            return
        log_id = int(event.job_id.removeprefix(REQUEST_JOB_PREFIX))
        with self._dispatched_lock:
            self._dispatched.discard(log_id)

    def _maintain(self) -> None:
        """Import runs recorded while the database was down; mark dead runs.

        Also gives up run requests queued for longer than the queue timeout.
        """
        self._guarded("fallback log replay", fallback_replay)
        self._guarded("run reconciliation", task_logs_reconcile)
        self._guarded("run request expiry", task_run_requests_expire)

    def _guarded(self, what: str, action, *args, **kwargs) -> None:
        """Run ``action``; log and survive any failure (a database outage)."""
        try:
            action(*args, **kwargs)
        except Exception:
            logger.exception("Scheduler %s failed", what)

    def _shutdown(self) -> RunOutcome:
        """Take no new fires, hand over leadership, give a running task the grace.

        Leadership is released before the wait so a follower takes over
        within a poll; the run in flight keeps its TaskLog row ``running``
        (heartbeat and all), which stops the new leader from starting the
        same task until it has finished.
        """
        logger.info("Scheduler %s stopping", self.leadership.identity)
        self._stop_jobs()
        self.leadership.release()
        finished = in_flight.wait_idle(timeout=settings.SHUTDOWN_GRACE_SECONDS)
        if not finished:
            logger.warning(
                "Shutdown grace of %ss over with %s run(s) still going; they will be "
                "marked interrupted at the next start",
                settings.SHUTDOWN_GRACE_SECONDS,
                in_flight.count,
            )
        logger.info("Scheduler %s stopped", self.leadership.identity)
        return RunOutcome(cut_off=not finished)


def _trigger_key(trigger) -> tuple[str, ...]:
    """What makes two triggers the same: their text and their zones."""
    parts = getattr(trigger, "triggers", None) or [trigger]
    return (str(trigger), *(str(getattr(part, "timezone", "")) for part in parts))


def _log_unrun_fire(event) -> None:
    """Log a fire APScheduler skipped (still running) or missed (too late)."""
    if event.code == EVENT_JOB_MAX_INSTANCES:
        reason = "the previous run is still going"
    else:
        reason = "it was later than the misfire grace"
    logger.warning("Scheduled fire of %s skipped: %s", event.job_id, reason)
