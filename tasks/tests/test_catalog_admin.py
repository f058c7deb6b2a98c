"""The admin: tasks editable (cron checked as the API does), run now; logs read-only."""

import os

import pytest
from django.test import Client

from tasks.models import Task, TaskLog
from tasks.tests.factories import TaskFactory, TaskLogFactory
from tasks.tests.support import this_host
from tests.factories import AdminFactory, UserFactory


@pytest.fixture
def admin_site(db) -> Client:
    """A browser logged in to the admin as a superuser."""
    client = Client()
    client.force_login(AdminFactory())
    return client


def _change(client: Client, task_id: str, **fields):
    data = {"schedule": "0 * * * *", "is_enabled": "on", **fields}
    if not data["is_enabled"]:
        del data["is_enabled"]
    return client.post(f"/admin/tasks/task/{task_id}/change/", data)


def _run_now(client: Client, task_id: str):
    return client.post(
        "/admin/tasks/task/",
        {"action": "run_now", "_selected_action": [task_id]},
        follow=True,
    )


SEED_URL = "/admin/tasks/task/seed/"


@pytest.mark.django_db
class TestRegisteredTasksInTheList:
    def test_listing_on_a_fresh_database_writes_no_rows(self, admin_site):
        response = admin_site.get("/admin/tasks/task/")

        assert response.status_code == 200
        assert not Task.objects.exists()

    def test_a_fresh_database_offers_to_add_the_registered_tasks(self, admin_site):
        response = admin_site.get("/admin/tasks/task/")

        assert b"Add registered tasks" in response.content
        assert b"Daily Backup" in response.content  # named in the button's title

    def test_the_add_button_creates_the_registered_task_rows(self, admin_site):
        response = admin_site.post(SEED_URL)

        assert response.status_code == 302
        assert {"backup", "cleanup", "report"} <= set(
            Task.objects.values_list("id", flat=True)
        )

    def test_once_every_task_has_a_row_no_add_button_is_shown(self, admin_site):
        admin_site.post(SEED_URL)

        response = admin_site.get("/admin/tasks/task/")

        assert b"Add registered tasks" not in response.content
        assert b"Daily Backup" in response.content

    # The error middleware closes the replaced 405 response, which fires
    # request_finished mid-request; outside a test transaction that is
    # harmless, inside one it closes the test's connection.
    @pytest.mark.django_db(transaction=True)
    def test_adding_registered_tasks_needs_a_post(self, admin_site):
        response = admin_site.get(SEED_URL)

        assert response.status_code == 405
        assert not Task.objects.exists()

    def test_staff_without_the_change_permission_may_not_add_them(self):
        client = Client()
        client.force_login(UserFactory(is_staff=True))

        response = client.post(SEED_URL)

        assert response.status_code == 403
        assert not Task.objects.exists()


@pytest.mark.django_db
class TestTaskAdmin:
    def test_a_valid_schedule_and_switch_are_saved(self, admin_site):
        TaskFactory(id="report")

        response = _change(
            admin_site, "report", schedule="15  8 * * 1-5", is_enabled=""
        )

        assert response.status_code == 302
        report = Task.objects.get(pk="report")
        assert (report.schedule, report.is_enabled) == ("15 8 * * 1-5", False)

    def test_an_invalid_cron_is_a_form_error_and_nothing_changes(self, admin_site):
        TaskFactory(id="report", schedule="0 9 * * *")

        response = _change(admin_site, "report", schedule="every morning")

        assert response.status_code == 200
        assert "schedule" in response.context["adminform"].form.errors
        assert Task.objects.get(pk="report").schedule == "0 9 * * *"

    def test_tasks_cannot_be_added(self, admin_site):
        assert admin_site.get("/admin/tasks/task/add/").status_code == 403

    def test_tasks_cannot_be_deleted(self, admin_site):
        TaskFactory(id="report")

        assert (
            admin_site.post(
                "/admin/tasks/task/report/delete/", {"post": "yes"}
            ).status_code
            == 403
        )
        assert Task.objects.filter(pk="report").exists()


@pytest.mark.django_db
class TestRunNowAction:
    def test_run_now_queues_the_selected_task_for_the_scheduler(
        self, admin_site, make_task, live_scheduler
    ):
        ran = []
        make_task(lambda: ran.append(1) or {}, task_id="demo")
        TaskFactory(id="demo")

        response = _run_now(admin_site, "demo")

        assert b"Task &#x27;demo&#x27; queued" in response.content
        assert TaskLog.objects.get(task_type="demo").status == "queued"
        assert ran == []

    def test_run_now_without_a_scheduler_says_how_to_start_one(
        self, admin_site, make_task
    ):
        make_task(lambda: {}, task_id="demo")
        TaskFactory(id="demo")

        response = _run_now(admin_site, "demo")

        assert b"manage.py runscheduler" in response.content
        assert not TaskLog.objects.exists()

    def test_run_now_of_a_running_task_reports_the_conflict(
        self, admin_site, make_task, live_scheduler
    ):
        make_task(lambda: {"ok": True}, task_id="demo")
        TaskFactory(id="demo")
        TaskLogFactory(task_type="demo", status="running", owner=this_host(os.getpid()))

        response = _run_now(admin_site, "demo")

        assert b"already queued or running" in response.content
        assert TaskLog.objects.filter(task_type="demo").count() == 1


@pytest.mark.django_db
class TestTaskLogAdmin:
    def test_logs_are_filtered_by_status(self, admin_site):
        TaskLogFactory(task_type="backup", status="failed")
        TaskLogFactory(task_type="report", status="completed")

        response = admin_site.get("/admin/tasks/tasklog/?status__exact=failed")

        assert response.status_code == 200
        assert response.context["cl"].result_count == 1

    def test_logs_are_filtered_by_task_type(self, admin_site):
        TaskLogFactory(task_type="backup")
        TaskLogFactory(task_type="report")

        response = admin_site.get("/admin/tasks/tasklog/?task_type=report")

        assert [log.task_type for log in response.context["cl"].result_list] == [
            "report"
        ]

    def test_a_log_cannot_be_changed(self, admin_site):
        log = TaskLogFactory(status="failed")

        response = admin_site.post(
            f"/admin/tasks/tasklog/{log.pk}/change/", {"status": "completed"}
        )

        assert response.status_code == 403
        assert TaskLog.objects.get(pk=log.pk).status == "failed"

    def test_a_log_can_be_viewed(self, admin_site):
        log = TaskLogFactory()

        assert (
            admin_site.get(f"/admin/tasks/tasklog/{log.pk}/change/").status_code == 200
        )

    def test_logs_cannot_be_added_or_deleted(self, admin_site):
        log = TaskLogFactory()

        assert admin_site.get("/admin/tasks/tasklog/add/").status_code == 403
        assert (
            admin_site.post(
                f"/admin/tasks/tasklog/{log.pk}/delete/", {"post": "yes"}
            ).status_code
            == 403
        )
