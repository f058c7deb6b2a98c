"""§5 end to end: tasks, the scheduler and task logs, with their permissions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contract.tasks import TASK_LOG_LIST_KEYS
from tasks import registry
from tasks.models import SchedulerLease, Task, TaskLog
from tasks.selectors import LEASE_NAME
from tasks.tests.factories import TaskFactory, TaskLogFactory

TASK_KEYS = {"id", "name", "schedule", "enabled", "last_run", "next_run", "status"}
LOG_KEYS = {
    "id",
    "task_type",
    "task_name",
    "status",
    "started_at",
    "completed_at",
    "result",
    "error",
}
ENVELOPE_KEYS = {"error", "message"}


def _assert_error(response, status: int) -> None:
    assert response.status_code == status, response.content
    assert set(response.json()) >= ENVELOPE_KEYS


@pytest.mark.django_db
class TestTaskList:
    def test_registered_task_is_listed_with_its_defaults_before_any_seeding(
        self, user_client, demo
    ):
        response = user_client.get("/api/v1/tasks")

        assert response.status_code == 200
        task = next(t for t in response.json()["tasks"] if t["id"] == "demo")
        assert set(task) == TASK_KEYS
        assert task["schedule"] == "0 * * * *"
        assert task["enabled"] is True
        assert task["last_run"] is None
        assert task["status"] is None
        assert task["next_run"].endswith("Z")

    def test_listing_writes_no_rows(self, user_client, demo):
        user_client.get("/api/v1/tasks")

        assert not Task.objects.filter(pk="demo").exists()

    def test_status_and_last_run_come_from_the_newest_log(self, user_client, demo):
        now = timezone.now()
        TaskLogFactory(
            task_type="demo", status="failed", started_at=now - timedelta(hours=1)
        )
        TaskLogFactory(task_type="demo", status="completed", started_at=now)

        task = user_client.get("/api/v1/tasks/demo").json()

        assert task["status"] == "success"
        assert task["last_run"] == now.isoformat().replace("+00:00", "Z")

    def test_disabled_task_has_no_next_run(self, user_client, demo):
        TaskFactory(id="demo", is_enabled=False)

        task = user_client.get("/api/v1/tasks/demo").json()

        assert task["enabled"] is False
        assert task["next_run"] is None

    def test_anonymous_caller_is_unauthorized(self, api_client, demo):
        _assert_error(api_client.get("/api/v1/tasks"), 401)


@pytest.mark.django_db
class TestTaskDetail:
    def test_user_reads_one_task(self, user_client, demo):
        response = user_client.get("/api/v1/tasks/demo")

        assert response.status_code == 200
        assert response.json()["name"] == "Demo Task"

    def test_unknown_task_is_not_found(self, user_client):
        _assert_error(user_client.get("/api/v1/tasks/nope"), 404)

    def test_trailing_slash_is_not_a_route(self, user_client, demo):
        assert user_client.get("/api/v1/tasks/demo/").status_code == 404

    def test_anonymous_caller_is_unauthorized(self, api_client, demo):
        _assert_error(api_client.get("/api/v1/tasks/demo"), 401)


@pytest.mark.django_db
class TestTaskRun:
    def test_admin_queues_a_run_and_gets_its_log_id(
        self, admin_client, demo, live_scheduler
    ):
        response = admin_client.post("/api/v1/tasks/demo/run")

        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Task 'demo' started successfully"
        assert body["job_id"] == str(body["task_log_id"])
        log = TaskLog.objects.get(pk=body["task_log_id"])
        assert (log.task_type, log.status) == ("demo", "queued")

    def test_the_web_process_runs_no_task_code(self, admin_client, live_scheduler):
        ran = []
        registry.register("spy", name="Spy", schedule="0 * * * *")(
            lambda: ran.append(1) or {}
        )
        try:
            admin_client.post("/api/v1/tasks/spy/run")
        finally:
            registry.unregister("spy")

        assert ran == []

    def test_a_queued_task_is_a_conflict(self, admin_client, demo, live_scheduler):
        admin_client.post("/api/v1/tasks/demo/run")

        _assert_error(admin_client.post("/api/v1/tasks/demo/run"), 409)
        assert TaskLog.objects.filter(task_type="demo").count() == 1

    def test_a_running_task_is_a_conflict(self, admin_client, demo, live_scheduler):
        TaskLogFactory(task_type="demo", status="running", owner="elsewhere:1")

        _assert_error(admin_client.post("/api/v1/tasks/demo/run"), 409)

    def test_without_a_scheduler_the_run_is_unavailable(self, admin_client, demo):
        response = admin_client.post("/api/v1/tasks/demo/run")

        _assert_error(response, 503)
        assert "manage.py runscheduler" in response.json()["message"]
        assert response.headers["Retry-After"]
        assert not TaskLog.objects.exists()

    def test_user_may_not_run_a_task(self, user_client, demo, live_scheduler):
        _assert_error(user_client.post("/api/v1/tasks/demo/run"), 403)
        assert not TaskLog.objects.exists()

    def test_anonymous_caller_may_not_run_a_task(self, api_client, demo):
        _assert_error(api_client.post("/api/v1/tasks/demo/run"), 401)

    def test_unknown_task_is_not_found(self, admin_client, live_scheduler):
        _assert_error(admin_client.post("/api/v1/tasks/nope/run"), 404)


@pytest.mark.django_db
class TestTaskToggle:
    def test_admin_disables_a_task(self, admin_client, demo):
        response = admin_client.put(
            "/api/v1/tasks/demo/toggle", {"enabled": False}, format="json"
        )

        assert response.status_code == 200
        assert response.json() == {
            "id": "demo",
            "enabled": False,
            "message": "Task disabled successfully",
        }
        assert Task.objects.get(pk="demo").is_enabled is False

    def test_admin_enables_a_task(self, admin_client, demo):
        TaskFactory(id="demo", is_enabled=False)

        response = admin_client.put(
            "/api/v1/tasks/demo/toggle", {"enabled": True}, format="json"
        )

        assert response.json()["message"] == "Task enabled successfully"
        assert Task.objects.get(pk="demo").is_enabled is True

    @pytest.mark.parametrize(
        "body", [{"enabled": "false"}, {"enabled": 0}, {"enabled": None}, {}]
    )
    def test_non_boolean_enabled_is_a_bad_request(self, admin_client, demo, body):
        response = admin_client.put("/api/v1/tasks/demo/toggle", body, format="json")

        _assert_error(response, 400)
        assert "enabled" in response.json()["details"]

    def test_malformed_json_is_a_bad_request(self, admin_client, demo):
        response = admin_client.put(
            "/api/v1/tasks/demo/toggle", "{nope", content_type="application/json"
        )

        _assert_error(response, 400)

    def test_user_may_not_toggle(self, user_client, demo):
        _assert_error(
            user_client.put(
                "/api/v1/tasks/demo/toggle", {"enabled": False}, format="json"
            ),
            403,
        )
        assert not Task.objects.filter(pk="demo", is_enabled=False).exists()

    def test_unknown_task_is_not_found(self, admin_client):
        _assert_error(
            admin_client.put(
                "/api/v1/tasks/nope/toggle", {"enabled": False}, format="json"
            ),
            404,
        )

    def test_anonymous_caller_may_not_toggle(self, api_client, demo):
        response = api_client.put(
            "/api/v1/tasks/demo/toggle", {"enabled": False}, format="json"
        )

        _assert_error(response, 401)
        assert not Task.objects.filter(pk="demo", is_enabled=False).exists()


@pytest.mark.django_db
class TestTaskSchedule:
    def test_admin_reschedules_and_gets_the_task(self, admin_client, demo):
        response = admin_client.put(
            "/api/v1/tasks/demo/schedule", {"schedule": "*/5 * * * *"}, format="json"
        )

        assert response.status_code == 200
        body = response.json()
        assert set(body) == TASK_KEYS
        assert body["schedule"] == "*/5 * * * *"
        assert Task.objects.get(pk="demo").schedule == "*/5 * * * *"

    @pytest.mark.parametrize(
        "schedule", ["every day", "61 * * * *", "* * * *", 5, None]
    )
    def test_invalid_cron_is_a_bad_request_naming_schedule(
        self, admin_client, demo, schedule
    ):
        response = admin_client.put(
            "/api/v1/tasks/demo/schedule", {"schedule": schedule}, format="json"
        )

        _assert_error(response, 400)
        assert "schedule" in response.json()["details"]

    def test_user_may_not_reschedule(self, user_client, demo):
        response = user_client.put(
            "/api/v1/tasks/demo/schedule", {"schedule": "*/5 * * * *"}, format="json"
        )

        _assert_error(response, 403)

    def test_anonymous_caller_may_not_reschedule(self, api_client, demo):
        response = api_client.put(
            "/api/v1/tasks/demo/schedule", {"schedule": "*/5 * * * *"}, format="json"
        )

        _assert_error(response, 401)
        assert not Task.objects.filter(pk="demo", schedule="*/5 * * * *").exists()

    def test_unknown_task_is_not_found(self, admin_client):
        response = admin_client.put(
            "/api/v1/tasks/nope/schedule", {"schedule": "*/5 * * * *"}, format="json"
        )

        _assert_error(response, 404)


@pytest.mark.django_db
class TestSchedulerStatus:
    def test_without_a_scheduler_process_it_is_not_running(self, user_client, demo):
        body = user_client.get("/api/v1/scheduler/status").json()

        assert body["running"] is False
        assert body["leader"] is None
        assert body["heartbeat_at"] is None

    def test_a_fresh_heartbeat_names_the_leader(self, user_client, demo):
        SchedulerLease.objects.create(
            name=LEASE_NAME, owner="node1:42", heartbeat_at=timezone.now()
        )

        body = user_client.get("/api/v1/scheduler/status").json()

        assert body["running"] is True
        assert body["leader"] == "node1:42"
        assert body["heartbeat_at"].endswith("Z")

    def test_jobs_come_from_the_task_table(self, user_client, demo):
        TaskFactory(id="demo", schedule="*/5 * * * *", is_enabled=False)

        jobs = user_client.get("/api/v1/scheduler/status").json()["jobs"]

        job = next(j for j in jobs if j["id"] == "demo")
        assert set(job) == {"id", "name", "next_run_time", "trigger", "enabled"}
        assert job["enabled"] is False
        assert job["next_run_time"] is None
        assert "minute='*/5'" in job["trigger"]

    def test_anonymous_caller_is_unauthorized(self, api_client):
        _assert_error(api_client.get("/api/v1/scheduler/status"), 401)


@pytest.mark.django_db
class TestSchedulerJobActions:
    def test_admin_pauses_a_job_which_disables_its_task(self, admin_client, demo):
        response = admin_client.post("/api/v1/scheduler/jobs/demo/pause")

        assert response.status_code == 200
        assert response.json() == {
            "status": "success",
            "message": "Job demo paused successfully",
        }
        assert Task.objects.get(pk="demo").is_enabled is False

    def test_admin_resumes_a_job_which_enables_its_task(self, admin_client, demo):
        TaskFactory(id="demo", is_enabled=False)

        response = admin_client.post("/api/v1/scheduler/jobs/demo/resume")

        assert response.json() == {
            "status": "success",
            "message": "Job demo resumed successfully",
        }
        assert Task.objects.get(pk="demo").is_enabled is True

    @pytest.mark.parametrize("action", ["run", "pause", "resume"])
    def test_user_may_not_control_jobs(self, user_client, demo, action):
        _assert_error(user_client.post(f"/api/v1/scheduler/jobs/demo/{action}"), 403)

    @pytest.mark.parametrize("action", ["run", "pause", "resume"])
    def test_anonymous_caller_may_not_control_jobs(self, api_client, demo, action):
        response = api_client.post(f"/api/v1/scheduler/jobs/demo/{action}")

        _assert_error(response, 401)
        assert not Task.objects.filter(pk="demo").exists()
        assert not TaskLog.objects.exists()

    @pytest.mark.parametrize("action", ["run", "pause", "resume"])
    def test_unknown_job_is_not_found(self, admin_client, action):
        _assert_error(admin_client.post(f"/api/v1/scheduler/jobs/nope/{action}"), 404)


@pytest.mark.django_db
class TestSchedulerJobRun:
    def test_admin_triggers_a_job_which_queues_its_task(
        self, admin_client, demo, live_scheduler
    ):
        response = admin_client.post("/api/v1/scheduler/jobs/demo/run")

        assert response.json() == {
            "status": "success",
            "message": "Job demo triggered successfully",
        }
        assert TaskLog.objects.get(task_type="demo").status == "queued"

    def test_triggering_a_queued_job_is_a_conflict(
        self, admin_client, demo, live_scheduler
    ):
        admin_client.post("/api/v1/scheduler/jobs/demo/run")

        _assert_error(admin_client.post("/api/v1/scheduler/jobs/demo/run"), 409)

    def test_without_a_scheduler_triggering_is_unavailable(self, admin_client, demo):
        _assert_error(admin_client.post("/api/v1/scheduler/jobs/demo/run"), 503)


@pytest.mark.django_db
class TestTaskLogList:
    def test_logs_are_listed_newest_first(self, user_client):
        now = timezone.now()
        old = TaskLogFactory(started_at=now - timedelta(minutes=5))
        new = TaskLogFactory(started_at=now)

        body = user_client.get("/api/v1/task_logs").json()

        assert body["count"] == 2
        assert [log["id"] for log in body["logs"]] == [new.pk, old.pk]
        assert set(body["logs"][0]) == LOG_KEYS

    def test_filters_by_task_type_and_status(self, user_client):
        wanted = TaskLogFactory(task_type="backup", status="failed", error="disk full")
        TaskLogFactory(task_type="backup", status="completed")
        TaskLogFactory(task_type="report", status="failed")

        body = user_client.get(
            "/api/v1/task_logs?task_type=backup&status=failed"
        ).json()

        assert [log["id"] for log in body["logs"]] == [wanted.pk]
        assert body["logs"][0]["error"] == "disk full"

    def test_limit_caps_the_number_of_logs(self, user_client):
        TaskLogFactory.create_batch(3)

        body = user_client.get("/api/v1/task_logs?limit=2").json()

        assert body["count"] == 2

    @pytest.mark.parametrize(
        "query", ["limit=0", "limit=501", "limit=abc", "limit=-1", "status=done"]
    )
    def test_bad_query_parameter_is_a_bad_request_naming_it(self, user_client, query):
        response = user_client.get(f"/api/v1/task_logs?{query}")

        _assert_error(response, 400)
        assert query.split("=")[0] in response.json()["details"]

    @pytest.mark.parametrize("name", ["status", "task_type", "limit"])
    @pytest.mark.parametrize("value", ["", "%20"])
    def test_known_parameter_sent_empty_is_a_bad_request_naming_it(
        self, user_client, name, value
    ):
        response = user_client.get(f"/api/v1/task_logs?{name}={value}")

        _assert_error(response, 400)
        assert name in response.json()["details"]

    @pytest.mark.parametrize("value", ["%00", "%01", "a%7F", "x" * 65])
    def test_unusable_task_type_is_a_bad_request(self, user_client, value):
        response = user_client.get(f"/api/v1/task_logs?task_type={value}")

        _assert_error(response, 400)

    def test_unknown_parameters_are_ignored(self, user_client):
        assert user_client.get("/api/v1/task_logs?colour=blue").status_code == 200

    def test_offset_skips_the_newest_logs(self, user_client):
        now = timezone.now()
        logs = [TaskLogFactory(started_at=now - timedelta(minutes=m)) for m in range(3)]

        body = user_client.get("/api/v1/task_logs?limit=1&offset=1").json()

        assert [log["id"] for log in body["logs"]] == [logs[1].pk]

    def test_total_counts_every_matching_log_beside_count(self, user_client):
        TaskLogFactory.create_batch(3, task_type="backup")
        TaskLogFactory(task_type="report")

        body = user_client.get("/api/v1/task_logs?task_type=backup&limit=2").json()

        assert (body["count"], body["total"]) == (2, 3)

    def test_next_cursor_continues_the_listing(self, user_client):
        now = timezone.now()
        logs = [TaskLogFactory(started_at=now - timedelta(minutes=m)) for m in range(3)]
        first = user_client.get("/api/v1/task_logs?limit=2").json()

        second = user_client.get(
            "/api/v1/task_logs", {"limit": 2, "cursor": first["next_cursor"]}
        ).json()

        assert [log["id"] for log in second["logs"]] == [logs[2].pk]
        assert second["next_cursor"] is None

    def test_next_page_is_given_as_a_link_header(self, user_client):
        TaskLogFactory.create_batch(2, task_type="backup")
        response = user_client.get("/api/v1/task_logs?limit=1&task_type=backup")

        url = response["Link"].removeprefix("<").removesuffix('>; rel="next"')
        following = user_client.get(url).json()

        assert url.startswith("http://testserver/api/v1/task_logs?")
        assert following["count"] == 1
        assert following["next_cursor"] is None

    def test_last_page_has_no_link_header(self, user_client):
        TaskLogFactory()

        assert not user_client.get("/api/v1/task_logs").has_header("Link")

    def test_tampered_cursor_is_a_bad_request_naming_it(self, user_client):
        TaskLogFactory.create_batch(2)
        cursor = user_client.get("/api/v1/task_logs?limit=1").json()["next_cursor"]

        response = user_client.get("/api/v1/task_logs", {"cursor": cursor + "x"})

        _assert_error(response, 400)
        assert "cursor" in response.json()["details"]

    def test_an_empty_listing_keeps_every_key(self, user_client):
        body = user_client.get("/api/v1/task_logs").json()

        assert tuple(body) == TASK_LOG_LIST_KEYS
        assert (body["count"], body["total"], body["next_cursor"]) == (0, 0, None)

    def test_queued_is_a_status_filter(self, user_client):
        TaskLogFactory(status="completed")

        body = user_client.get("/api/v1/task_logs?status=queued").json()

        assert (body["count"], body["total"]) == (0, 0)

    @pytest.mark.parametrize(
        "param", ["task_type", "status", "limit", "offset", "cursor"]
    )
    @pytest.mark.parametrize("value", ["", "%20%20"])
    def test_empty_or_blank_parameter_is_a_bad_request_naming_it(
        self, user_client, param, value
    ):
        response = user_client.get(f"/api/v1/task_logs?{param}={value}")

        _assert_error(response, 400)
        assert response.json()["message"] == f"{param} must not be empty"

    def test_limit_message_is_the_one_contacts_give(self, user_client):
        response = user_client.get("/api/v1/task_logs?limit=501")

        assert (
            response.json()["message"] == "limit must be an integer between 1 and 500"
        )


@pytest.mark.django_db
class TestTaskLogDetail:
    def test_a_log_is_read_by_its_id(self, user_client):
        log = TaskLogFactory(task_type="backup", status="failed", error="disk full")

        body = user_client.get(f"/api/v1/task_logs/{log.pk}").json()

        assert set(body) == LOG_KEYS
        assert (body["id"], body["error"]) == (log.pk, "disk full")

    @pytest.mark.parametrize("raw_id", ["999999", "abc", "-1", "9" * 50])
    def test_absent_log_is_not_found(self, user_client, raw_id):
        response = user_client.get(f"/api/v1/task_logs/{raw_id}")

        _assert_error(response, 404)
        assert response.json()["message"] == "Task log not found"

    def test_stats_is_not_taken_for_an_id(self, user_client):
        assert "total_executions" in user_client.get("/api/v1/task_logs/stats").json()

    def test_anonymous_caller_is_unauthorized(self, api_client):
        log = TaskLogFactory()

        _assert_error(api_client.get(f"/api/v1/task_logs/{log.pk}"), 401)


@pytest.mark.django_db
class TestDeprecatedTaskLogList:
    def test_old_name_answers_like_the_new_one(self, user_client):
        TaskLogFactory()

        old = user_client.get("/api/v1/tasklogs?limit=5")
        new = user_client.get("/api/v1/task_logs?limit=5")

        assert old.status_code == 200
        assert old.json() == new.json()

    def test_old_name_carries_deprecation_headers(self, user_client):
        response = user_client.get("/api/v1/tasklogs")

        assert response["Deprecation"].startswith("@")
        assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
        assert response["Link"] == '</api/v1/task_logs>; rel="successor-version"'

    def test_old_name_links_the_next_page_beside_its_successor(self, user_client):
        TaskLogFactory.create_batch(2)

        link = user_client.get("/api/v1/tasklogs?limit=1")["Link"]

        assert link.startswith("<http://testserver/api/v1/tasklogs?")
        assert link.endswith('rel="next", </api/v1/task_logs>; rel="successor-version"')

    def test_new_name_is_not_deprecated(self, user_client):
        assert "Deprecation" not in user_client.get("/api/v1/task_logs")

    def test_old_name_still_validates_its_query(self, user_client):
        _assert_error(user_client.get("/api/v1/tasklogs?limit=0"), 400)

    def test_anonymous_caller_is_unauthorized(self, api_client):
        _assert_error(api_client.get("/api/v1/tasklogs"), 401)


@pytest.mark.django_db
class TestTaskLogStats:
    def test_counts_by_status_and_success_rate(self, user_client):
        TaskLogFactory.create_batch(2, status="completed")
        TaskLogFactory(status="failed")

        body = user_client.get("/api/v1/task_logs/stats").json()

        assert body == {
            "total_executions": 3,
            "completed": 2,
            "failed": 1,
            "running": 0,
            "interrupted": 0,
            "success_rate": 66.67,
        }

    def test_empty_log_has_a_zero_success_rate(self, user_client):
        body = user_client.get("/api/v1/task_logs/stats").json()

        assert body["total_executions"] == 0
        assert body["success_rate"] == 0.0
        assert isinstance(body["success_rate"], float)  # one type, whatever the data

    def test_anonymous_caller_is_unauthorized(self, api_client):
        _assert_error(api_client.get("/api/v1/task_logs/stats"), 401)
