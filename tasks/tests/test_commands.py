"""runtask, listtasks and replay_fallback_log: output and exit codes."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tasks.models import TaskLog
from tasks.services.fallback import fallback_record
from tasks.tests.factories import TaskFactory, TaskLogFactory
from tasks.tests.support import manage

pytestmark = pytest.mark.usefixtures("engine_dirs")


def _call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestRunTask:
    def test_prints_the_result_json(self, make_task):
        task_id = make_task(lambda: {"rows": 4})

        output = _call("runtask", task_id)

        assert json.loads(output) == {"rows": 4}
        assert TaskLog.objects.get(task_type=task_id).trigger == "manual"

    def test_a_failed_run_is_a_command_error_naming_the_error(self, make_task):
        def boom():
            raise ValueError("bad input")

        task_id = make_task(boom)

        with pytest.raises(CommandError) as caught:
            _call("runtask", task_id)

        assert str(caught.value) == f"Task '{task_id}' failed: ValueError: bad input"


@pytest.mark.django_db(transaction=True)
class TestRunTaskProcess:
    def test_a_successful_run_exits_0_with_the_result_on_stdout(self):
        done = manage("runtask", "cleanup")

        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["task_logs"] == 0

    def test_an_unknown_task_exits_1(self):
        done = manage("runtask", "nope")

        assert done.returncode == 1
        assert "Task 'nope' not found" in done.stderr

    def test_an_unknown_task_lists_the_valid_ids(self):
        done = manage("runtask", "nope")

        assert "valid ids: backup, cleanup, report" in done.stderr

    def test_a_failing_task_exits_1(self, tmp_path):
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")

        done = manage("runtask", "backup", BACKUP_DIR=str(blocker / "backups"))

        assert done.returncode == 1
        assert "Task 'backup' failed:" in done.stderr
        assert TaskLog.objects.get(task_type="backup").status == "failed"


@pytest.mark.django_db
class TestListTasks:
    def test_unseeded_tasks_show_the_registry_defaults(self):
        lines = _call("listtasks").splitlines()

        assert lines[0].split() == [
            "ID",
            "NAME",
            "SCHEDULE",
            "ENABLED",
            "LAST",
            "RUN",
            "NEXT",
            "RUN",
            "STATUS",
        ]
        backup = next(line for line in lines if line.startswith("backup "))
        assert "Daily Backup" in backup
        assert "0 2 * * *" in backup
        assert backup.split()[-1] == "-"

    def test_a_disabled_task_has_no_next_run(self):
        TaskFactory(
            id="report", name="Daily Report", schedule="0 9 * * *", is_enabled=False
        )

        lines = _call("listtasks").splitlines()

        report = next(line for line in lines if line.startswith("report "))
        assert " no " in report
        assert report.split()[-2:] == ["-", "-"]

    def test_the_last_run_and_its_status_are_shown(self):
        TaskLogFactory(task_type="cleanup", status="failed")

        lines = _call("listtasks").splitlines()

        cleanup = next(line for line in lines if line.startswith("cleanup "))
        assert cleanup.split()[-1] == "failed"

    def test_the_next_run_follows_the_schedule_in_the_time_zone(self, settings):
        settings.TIME_ZONE = "Africa/Nairobi"
        TaskFactory(id="backup", name="Daily Backup", schedule="30 4 * * *")

        lines = _call("listtasks").splitlines()

        backup = next(line for line in lines if line.startswith("backup "))
        assert "04:30 EAT" in backup


@pytest.mark.django_db(transaction=True)
class TestReplayFallbackLog:
    def test_imports_the_recorded_runs(self):
        log = TaskLogFactory.build(task_type="report", status="completed")
        fallback_record(log, event="finish")

        output = _call("replay_fallback_log")

        assert output.strip() == "Imported 1 task run(s) from the fallback file"
        assert TaskLog.objects.filter(run_id=log.run_id).count() == 1

    def test_with_the_database_unreachable_it_exits_1_and_keeps_the_file(
        self, tmp_path
    ):
        log = TaskLogFactory.build(task_type="report", status="completed")
        fallback_record(log, event="finish")
        unreachable = f"sqlite:///{tmp_path}/missing-dir/db.sqlite3"

        done = manage(
            "replay_fallback_log",
            DATABASE_URL=unreachable
            if "sqlite" in settings.DATABASES["default"]["ENGINE"]
            else "postgres://postgres@127.0.0.1:1/nowhere",
            TASK_FALLBACK_LOG=str(settings.TASK_FALLBACK_LOG),
        )

        assert done.returncode == 1
        assert "Database unavailable; the fallback file is kept" in done.stderr
        assert str(log.run_id) in settings.TASK_FALLBACK_LOG.read_text()
