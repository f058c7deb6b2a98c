"""The task admin: run columns, links, file downloads, hidden apscheduler pages."""

from __future__ import annotations

import json
import os

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tasks.tests.factories import TaskFactory, TaskLogFactory
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

TASKS = "/admin/tasks/task/"
LOGS = "/admin/tasks/tasklog/"
FILES = "/admin/tasks/task/files/"


@pytest.fixture
def admin_site() -> Client:
    client = Client()
    client.force_login(AdminFactory())
    return client


@pytest.fixture
def files(settings, tmp_path):
    """A backup and a report on disk, and a secret beside their folders."""
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.REPORT_DIR = tmp_path / "reports"
    settings.BACKUP_DIR.mkdir()
    settings.REPORT_DIR.mkdir()
    (settings.BACKUP_DIR / "autom8-20260114.json.gz").write_bytes(b"backup bytes")
    (settings.REPORT_DIR / "report-20260114.html").write_text("<p>report</p>")
    (tmp_path / "secrets.json").write_text('{"SECRET_KEY": "x"}')
    return tmp_path


def _row(response, task_id: str):
    return next(t for t in response.context["cl"].result_list if t.pk == task_id)


class TestTaskList:
    def test_each_task_shows_its_last_run_status_and_run_count(self, admin_site):
        TaskFactory(id="backup")
        TaskLogFactory(task_type="backup", status="completed")
        newest = TaskLogFactory(task_type="backup", status="failed")

        task = _row(admin_site.get(TASKS), "backup")

        assert (task.last_status, task.run_count) == ("failed", 2)
        assert task.last_run_at == newest.started_at

    def test_the_next_run_is_shown(self, admin_site):
        TaskFactory(id="backup", schedule="0 2 * * *", is_enabled=True)

        response = admin_site.get(TASKS)

        assert b"Next run" in response.content
        assert b", 2 a.m.</td>" in response.content

    def test_more_tasks_and_logs_cost_no_more_queries(self, admin_site):
        TaskFactory(id="t1")
        admin_site.get(TASKS)
        with CaptureQueriesContext(connection) as one:
            admin_site.get(TASKS)
        for n in range(2, 6):
            TaskFactory(id=f"t{n}")
            TaskLogFactory.create_batch(3, task_type=f"t{n}")

        with CaptureQueriesContext(connection) as many:
            admin_site.get(TASKS)

        assert len(many) == len(one)


class TestTaskLogList:
    def test_a_log_links_to_its_task(self, admin_site):
        TaskFactory(id="cleanup")
        TaskLogFactory(task_type="cleanup")

        response = admin_site.get(LOGS)

        assert b'href="/admin/tasks/task/cleanup/change/"' in response.content

    def test_a_log_links_to_the_file_its_run_wrote(self, admin_site, files):
        TaskLogFactory(
            task_type="backup", result=json.dumps({"file": "autom8-20260114.json.gz"})
        )

        response = admin_site.get(LOGS)

        assert (
            b'href="/admin/tasks/task/files/backups/autom8-20260114.json.gz"'
            in response.content
        )


class TestFiles:
    def test_the_list_shows_backups_and_reports(self, admin_site, files):
        response = admin_site.get(FILES)

        assert response.status_code == 200
        assert b"autom8-20260114.json.gz" in response.content
        assert b"report-20260114.html" in response.content

    def test_an_admin_downloads_a_backup(self, admin_site, files):
        response = admin_site.get(f"{FILES}backups/autom8-20260114.json.gz")

        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"backup bytes"
        assert response["Content-Disposition"].startswith("attachment")

    @pytest.mark.parametrize(
        "path",
        [
            "backups/..%2Fsecrets.json",
            "backups/%2E%2E%2Fsecrets.json",
            "backups/.hidden",
            "reports/missing.html",
            "secrets/secrets.json",
            "backups/..",
        ],
    )
    def test_anything_but_a_file_in_the_folders_is_404(self, admin_site, files, path):
        (files / "backups" / ".hidden").write_text("x")

        response = admin_site.get(f"{FILES}{path}")

        assert response.status_code == 404

    def test_a_link_leading_out_of_the_folder_is_404(self, admin_site, files):
        os.symlink(files / "secrets.json", files / "backups" / "escape.json")

        response = admin_site.get(f"{FILES}backups/escape.json")

        assert response.status_code == 404

    def test_a_user_who_is_not_staff_gets_no_file(self, files):
        client = Client()
        client.force_login(UserFactory())

        response = client.get(f"{FILES}backups/autom8-20260114.json.gz")

        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]

    def test_an_anonymous_visitor_gets_no_file(self, files):
        response = Client().get(f"{FILES}backups/autom8-20260114.json.gz")

        assert response.status_code == 302


class TestApschedulerPages:
    @pytest.mark.parametrize(
        "url",
        ["/admin/django_apscheduler/djangojob/", "/admin/django_apscheduler/"],
    )
    def test_its_own_admin_pages_are_hidden(self, admin_site, url):
        assert admin_site.get(url).status_code == 404
