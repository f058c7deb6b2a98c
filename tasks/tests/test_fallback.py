"""Double fault: runs recorded in the fallback file while the database is really down."""

import json
import os
import stat
import subprocess
import sys
import uuid
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tasks.models import TaskLog
from tasks.services import fallback
from tasks.services.execution import task_execute, task_log_finish
from tasks.services.fallback import fallback_record, fallback_replay
from tasks.services.zombies import current_owner, pid_is_alive
from tasks.tests.factories import TaskLogFactory
from tasks.tests.support import (
    BASE_DIR,
    database_down,
    dead_pid,
    fallback_lines,
    process_env,
    this_host,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("engine_dirs"),
]


def _dies_mid_run(outage: ExitStack):
    """A task that takes the database down while it runs."""

    def task():
        outage.enter_context(database_down())
        return {"rows": 5}

    return task


def _run_with_outage_mid_run(make_task) -> TaskLog:
    """Run a task that loses the database mid-run; the database is back after."""
    with ExitStack() as outage:
        task_id = make_task(_dies_mid_run(outage))
        return task_execute(task_id=task_id)


def _run_with_database_down(make_task) -> TaskLog:
    """Run a task from start to end while the database is down."""
    task_id = make_task(lambda: {"rows": 2})
    with database_down():
        return task_execute(task_id=task_id)


def test_the_outcome_goes_to_the_file_when_the_database_dies_mid_run(make_task):
    log = _run_with_outage_mid_run(make_task)

    events = fallback_lines()
    assert [(e["event"], e["run_id"], e["status"]) for e in events] == [
        ("finish", str(log.run_id), "completed")
    ]
    assert json.loads(events[0]["result"]) == {"rows": 5}


def test_until_replayed_the_database_still_shows_the_run_running(make_task):
    log = _run_with_outage_mid_run(make_task)

    assert TaskLog.objects.get(run_id=log.run_id).status == TaskLog.Status.RUNNING


def test_replay_completes_the_run_started_in_the_database(make_task):
    log = _run_with_outage_mid_run(make_task)

    imported = fallback_replay()

    stored = TaskLog.objects.get(run_id=log.run_id)
    assert imported == 1
    assert (stored.status, json.loads(stored.result)) == ("completed", {"rows": 5})
    assert TaskLog.objects.count() == 1


def test_replay_empties_the_file(make_task):
    _run_with_outage_mid_run(make_task)

    fallback_replay()

    assert fallback_lines() == []


def test_a_run_with_the_database_down_throughout_is_recorded_start_and_finish(
    make_task,
):
    log = _run_with_database_down(make_task)

    assert [(e["event"], e["run_id"]) for e in fallback_lines()] == [
        ("start", str(log.run_id)),
        ("finish", str(log.run_id)),
    ]


def test_replay_merges_start_and_finish_into_one_row(make_task):
    log = _run_with_database_down(make_task)

    imported = fallback_replay()

    rows = list(TaskLog.objects.all())
    assert imported == 1
    assert [(r.run_id, r.status, r.result) for r in rows] == [
        (log.run_id, "completed", '{"rows": 2}')
    ]


def test_replaying_the_same_records_twice_imports_nothing_twice(make_task):
    _run_with_database_down(make_task)
    saved = settings.TASK_FALLBACK_LOG.read_bytes()
    fallback_replay()
    settings.TASK_FALLBACK_LOG.write_bytes(saved)  # as if emptying had failed

    imported_again = fallback_replay()

    assert imported_again == 0
    assert TaskLog.objects.count() == 1


def test_replay_while_the_database_is_still_down_keeps_the_file(make_task):
    _run_with_database_down(make_task)

    with database_down():
        imported = fallback_replay()

    assert imported == 0
    assert len(fallback_lines()) == 2
    assert not TaskLog.objects.exists()


def test_replay_does_not_overwrite_an_outcome_already_stored():
    log = TaskLogFactory(status="completed", result='{"real": 1}')
    stale = TaskLog(
        **{f.attname: getattr(log, f.attname) for f in TaskLog._meta.fields}
    )
    stale.status, stale.result = "failed", None
    fallback_record(stale, event="finish")

    imported = fallback_replay()

    assert imported == 0
    assert TaskLog.objects.get(pk=log.pk).result == '{"real": 1}'


def test_the_real_outcome_replaces_a_presumed_interruption():
    log = TaskLogFactory(status="interrupted", error="No heartbeat")
    finished = TaskLog.objects.get(pk=log.pk)
    finished.status, finished.result, finished.error = "completed", '{"ok": 1}', None
    fallback_record(finished, event="finish")

    fallback_replay()

    assert TaskLog.objects.get(pk=log.pk).status == "completed"


def test_a_start_only_run_of_a_dead_process_is_imported_interrupted():
    orphan = TaskLog(
        task_type="cleanup",
        task_name="Hourly Cleanup",
        status="running",
        trigger="schedule",
        owner=this_host(dead_pid()),
        started_at=timezone.now() - timedelta(minutes=5),
    )
    fallback_record(orphan, event="start")

    fallback_replay()

    stored = TaskLog.objects.get(run_id=orphan.run_id)
    assert stored.status == "interrupted"
    assert "outcome was never written" in stored.error


def _start_only(*, owner: str, started_at) -> TaskLog:
    """A running log of ``owner`` known only by its start event in the file."""
    log = TaskLog(
        task_type="cleanup",
        task_name="Hourly Cleanup",
        status="running",
        trigger="schedule",
        owner=owner,
        started_at=started_at,
        heartbeat_at=started_at,
    )
    fallback_record(log, event="start")
    return log


def test_a_start_only_run_of_another_host_is_not_kept_alive_by_a_local_pid(settings):
    settings.TASK_STALE_SECONDS = 30
    started = timezone.now() - timedelta(minutes=5)
    assert pid_is_alive(1, started_at=started)
    orphan = _start_only(owner="another-host:1", started_at=started)

    fallback_replay()

    stored = TaskLog.objects.get(run_id=orphan.run_id)
    assert stored.status == "interrupted"
    assert "outcome was never written" in stored.error


def test_a_start_only_run_of_another_host_with_a_fresh_heartbeat_stays_running(
    settings,
):
    settings.TASK_STALE_SECONDS = 300
    orphan = _start_only(owner="another-host:1", started_at=timezone.now())

    fallback_replay()

    assert TaskLog.objects.get(run_id=orphan.run_id).status == "running"


def test_a_start_only_run_of_a_live_local_owner_is_imported_with_a_fresh_heartbeat():
    live = _start_only(
        owner=current_owner(), started_at=timezone.now() - timedelta(seconds=1)
    )
    replayed_at = timezone.now()

    fallback_replay()

    stored = TaskLog.objects.get(run_id=live.run_id)
    assert stored.status == "running"
    assert stored.heartbeat_at >= replayed_at


def test_an_outcome_is_applied_when_a_replay_imports_its_start_just_before(monkeypatch):
    log = _start_only(owner=current_owner(), started_at=timezone.now())
    original_create = fallback._create
    raced = []

    def replay_first(run_id, fields):
        if not raced:
            raced.append(run_id)
            fallback_replay()  # inserts the start-only row under the finish path
        return original_create(run_id, fields)

    monkeypatch.setattr(fallback, "_create", replay_first)

    task_log_finish(log, result={"rows": 1})

    stored = TaskLog.objects.get(run_id=log.run_id)
    assert raced == [str(log.run_id)]
    assert (stored.status, stored.result) == ("completed", '{"rows": 1}')


def test_a_torn_line_is_set_aside_and_the_rest_imported(make_task):
    log = _run_with_database_down(make_task)
    with open(settings.TASK_FALLBACK_LOG, "a") as handle:
        handle.write('{"event": "finish", "run_id": "abc')

    fallback_replay()

    rejected = settings.TASK_FALLBACK_LOG.with_name("task_fallback.jsonl.rejected")
    assert TaskLog.objects.get(run_id=log.run_id).status == "completed"
    assert rejected.read_text().startswith('{"event": "finish", "run_id": "abc')


def test_the_set_aside_lines_are_private_to_their_owner():
    with open(settings.TASK_FALLBACK_LOG, "a") as handle:
        handle.write('{"event": "finish", "run_id": "abc')

    fallback_replay()

    rejected = settings.TASK_FALLBACK_LOG.with_name("task_fallback.jsonl.rejected")
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o600


def test_a_fire_that_also_ran_elsewhere_is_kept_without_its_fire_time():
    fire = timezone.now().replace(microsecond=0)
    TaskLogFactory(task_type="backup", scheduled_for=fire)
    duplicate = TaskLogFactory.build(
        task_type="backup", scheduled_for=fire, run_id=uuid.uuid4()
    )
    fallback_record(duplicate, event="finish")

    fallback_replay()

    imported = TaskLog.objects.get(run_id=duplicate.run_id)
    assert imported.scheduled_for is None
    assert TaskLog.objects.count() == 2


def test_the_fallback_file_is_private_to_its_owner(make_task):
    _run_with_database_down(make_task)

    assert settings.TASK_FALLBACK_LOG.stat().st_mode & 0o777 == 0o600


_WRITER = """
import django, os, sys
django.setup()
from django.utils import timezone
from tasks.models import TaskLog
from tasks.services.fallback import fallback_record
for _ in range(int(sys.argv[1])):
    log = TaskLog(task_type="report", task_name="Daily Report", status="completed",
                  owner="n:1", started_at=timezone.now(), completed_at=timezone.now())
    fallback_record(log, event="finish")
"""

_REPLAYER = """
import django
django.setup()
from tasks.services.fallback import fallback_replay
total = 0
for _ in range(30):
    total += fallback_replay()
print(total)
"""


def test_concurrent_writers_and_replayers_lose_nothing_and_double_nothing():
    env = process_env(
        TASK_FALLBACK_LOG=str(settings.TASK_FALLBACK_LOG), LOG_LEVEL="error"
    )

    def spawn(code: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )

    writers = [spawn(_WRITER, "40") for _ in range(3)]
    replayers = [spawn(_REPLAYER) for _ in range(2)]
    for process in writers + replayers:
        assert process.wait(timeout=60) == 0
    replayed = sum(int(p.stdout.read().strip()) for p in replayers)

    replayed += fallback_replay()

    assert replayed == 120
    assert TaskLog.objects.count() == 120
    assert os.path.getsize(settings.TASK_FALLBACK_LOG) == 0
