"""Reads: the task overview, task log lists and stats, the scheduler state."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.selectors import contact_list
from contacts.tests.factories import ContactFactory
from contract.errors import Invalid
from tasks.models import SchedulerLease
from tasks.selectors import (
    LEASE_NAME,
    scheduler_state,
    task_get,
    task_list,
    task_log_get,
    task_log_list,
    task_log_stats,
    task_unseeded_list,
)
from tasks.tests.factories import TaskFactory, TaskLogFactory


@pytest.mark.django_db
class TestTaskList:
    def test_built_ins_are_listed_with_defaults_on_an_empty_database(self):
        schedules = {o.task.pk: o.task.schedule for o in task_list()}

        assert schedules["backup"] == "0 2 * * *"
        assert schedules["cleanup"] == "0 * * * *"
        assert schedules["report"] == "0 9 * * *"

    def test_a_stored_row_wins_over_the_defaults(self):
        TaskFactory(id="backup", schedule="30 4 * * *", is_enabled=False)

        backup = task_get(task_id="backup")

        assert backup.task.schedule == "30 4 * * *"
        assert backup.next_run is None

    def test_queries_do_not_grow_with_the_number_of_tasks_or_logs(
        self, django_assert_max_num_queries
    ):
        for task_type in ("backup", "cleanup", "report"):
            TaskLogFactory.create_batch(3, task_type=task_type)

        with django_assert_max_num_queries(2):
            overviews = task_list()

        assert all(
            o.last_log is not None
            for o in overviews
            if o.task.pk in {"backup", "report"}
        )

    def test_the_last_run_is_the_latest_start_not_the_latest_insert(self):
        now = timezone.now()
        newest = TaskLogFactory(task_type="backup", started_at=now)
        TaskLogFactory(
            task_type="backup", started_at=now - timedelta(hours=2)
        )  # replayed later

        assert task_get(task_id="backup").last_log == newest

    def test_next_run_follows_the_schedule(self):
        now = timezone.now().replace(minute=10, second=0, microsecond=0)

        cleanup = task_get(task_id="cleanup", now=now)

        assert cleanup.next_run == now.replace(minute=0) + timedelta(hours=1)

    def test_a_schedule_broken_outside_the_api_shows_no_next_run(self):
        TaskFactory(id="report", schedule="not a cron")

        report = task_get(task_id="report")

        assert (report.next_run, report.trigger) == (None, "invalid")

    def test_unregistered_task_is_none(self):
        TaskFactory(id="ghost")

        assert task_get(task_id="ghost") is None


@pytest.mark.django_db
class TestTaskLogs:
    def test_limit_keeps_the_newest(self):
        now = timezone.now()
        logs = [TaskLogFactory(started_at=now - timedelta(minutes=m)) for m in range(3)]

        assert task_log_list(limit=2).logs == logs[:2]

    def test_offset_skips_the_newest(self):
        now = timezone.now()
        logs = [TaskLogFactory(started_at=now - timedelta(minutes=m)) for m in range(3)]

        assert task_log_list(limit=1, offset=1).logs == [logs[1]]

    def test_total_counts_every_matching_log(self):
        TaskLogFactory.create_batch(3, task_type="backup")
        TaskLogFactory(task_type="report")

        assert task_log_list(task_type="backup", limit=1).total == 3

    def test_cursor_continues_after_the_last_log_of_the_page(self):
        now = timezone.now()
        logs = [TaskLogFactory(started_at=now - timedelta(minutes=m)) for m in range(3)]
        first = task_log_list(limit=2)

        second = task_log_list(limit=2, cursor=first.next_cursor)

        assert second.logs == [logs[2]]
        assert second.next_cursor is None

    def test_cursor_orders_logs_started_at_the_same_moment_by_id(self):
        now = timezone.now()
        older, newer = TaskLogFactory.create_batch(2, started_at=now)
        first = task_log_list(limit=1)

        second = task_log_list(limit=1, cursor=first.next_cursor)

        assert (first.logs, second.logs) == ([newer], [older])

    def test_contact_cursor_is_refused_by_the_task_log_listing(self):
        ContactFactory.create_batch(2)
        contact_cursor = contact_list(limit=1).next_cursor

        with pytest.raises(Invalid) as caught:
            task_log_list(cursor=contact_cursor)

        assert caught.value.field == "cursor"

    def test_a_page_costs_two_queries(self, django_assert_num_queries):
        TaskLogFactory.create_batch(3)

        with django_assert_num_queries(2):
            task_log_list(limit=2)

    def test_get_returns_none_for_an_absent_log(self):
        assert task_log_get(task_log_id=999999) is None

    def test_stats_are_one_query(self, django_assert_num_queries):
        TaskLogFactory(status="completed")
        TaskLogFactory(status="interrupted")

        with django_assert_num_queries(1):
            stats = task_log_stats()

        assert stats == {
            "total": 2,
            "completed": 1,
            "failed": 0,
            "running": 0,
            "interrupted": 1,
        }


@pytest.mark.django_db
class TestSchedulerState:
    def test_no_lease_row_is_not_running(self):
        assert scheduler_state().health == "not_running"

    def test_a_released_lease_is_not_running(self):
        SchedulerLease.objects.create(
            name=LEASE_NAME, owner="", heartbeat_at=timezone.now()
        )

        assert scheduler_state().running is False

    def test_a_heartbeat_within_the_lease_is_ok(self, settings):
        settings.SCHEDULER_LEASE_SECONDS = 10
        now = timezone.now()
        SchedulerLease.objects.create(name=LEASE_NAME, owner="n:1", heartbeat_at=now)

        state = scheduler_state(now=now + timedelta(seconds=10))

        assert (state.health, state.leader) == ("ok", "n:1")

    def test_a_heartbeat_older_than_the_lease_is_stale(self, settings):
        settings.SCHEDULER_LEASE_SECONDS = 10
        now = timezone.now()
        SchedulerLease.objects.create(name=LEASE_NAME, owner="n:1", heartbeat_at=now)

        state = scheduler_state(now=now + timedelta(seconds=11))

        assert (state.health, state.leader) == ("stale", None)


@pytest.mark.django_db
class TestTaskUnseededList:
    def test_registered_tasks_without_a_row_are_listed(self):
        TaskFactory(id="backup")

        ids = [definition.id for definition in task_unseeded_list()]

        assert "backup" not in ids
        assert {"cleanup", "report"} <= set(ids)

    def test_rows_of_unregistered_tasks_do_not_count(self):
        TaskFactory(id="retired")

        ids = [definition.id for definition in task_unseeded_list()]

        assert "retired" not in ids
        assert "backup" in ids
