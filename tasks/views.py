"""§5 endpoints: tasks, the scheduler and task logs."""

from __future__ import annotations

from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contract.errors import NotFound
from contract.query import parse_path_id
from contract.tasks import (
    TASK_LOG_STATUSES,
    parse_schedule_payload,
    parse_task_log_query,
    parse_toggle_payload,
    scheduler_job_action_body,
    scheduler_status_body,
    task_list_body,
    task_log_list_body,
    task_log_stats_body,
    task_log_to_dict,
    task_run_body,
    task_to_dict,
    task_toggle_body,
)
from security.cache.pages import cached_page
from security.deprecation import deprecated
from security.paging import next_page_headers, next_page_url
from security.permissions import IsAdminRole, IsUserRole
from security.schema import extend_schema, extend_schema_view
from tasks.models import TASK_LOG_LIST_DEFAULT_LIMIT, TASK_LOG_LIST_MAX_LIMIT
from tasks.selectors import (
    TaskOverview,
    scheduler_status,
    task_get,
    task_list,
    task_log_get,
    task_log_list,
    task_log_stats,
)
from tasks.services.catalog import task_reschedule, task_toggle
from tasks.services.control import scheduler_job_control
from tasks.services.execution import task_run_request

_ADMIN = [IsAdminRole]
_READ = [IsUserRole]
_TASK_ID = OpenApiParameter("task_id", OpenApiTypes.STR, OpenApiParameter.PATH)
_LOG_ID = OpenApiParameter(
    "task_log_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Task log id"
)
_LOG_QUERY = [
    OpenApiParameter(
        "task_type", OpenApiTypes.STR, description="only this task's runs"
    ),
    OpenApiParameter("status", OpenApiTypes.STR, enum=list(TASK_LOG_STATUSES)),
    OpenApiParameter(
        "limit",
        OpenApiTypes.INT,
        description=f"1 to {TASK_LOG_LIST_MAX_LIMIT}, "
        f"default {TASK_LOG_LIST_DEFAULT_LIMIT}",
    ),
    OpenApiParameter("offset", OpenApiTypes.INT, description="0 or more, default 0"),
    OpenApiParameter(
        "cursor",
        OpenApiTypes.STR,
        description="next_cursor of the previous page (not with offset)",
    ),
]


def _task_body(overview: TaskOverview) -> dict:
    return task_to_dict(
        overview.task, last_log=overview.last_log, next_run=overview.next_run
    )


def _task_or_404(task_id: str) -> TaskOverview:
    overview = task_get(task_id=task_id)
    if overview is None:
        raise NotFound(f"Task '{task_id}' not found")
    return overview


class TaskListView(APIView):
    """Every task with its schedule, switch, last and next run."""

    permission_classes = _READ

    @extend_schema(operation_id="tasks_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(
            task_list_body([_task_body(overview) for overview in task_list()])
        )


class TaskDetailView(APIView):
    """One task."""

    permission_classes = _READ

    @extend_schema(parameters=[_TASK_ID], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, task_id: str) -> Response:
        return Response(_task_body(_task_or_404(task_id)))


class TaskRunView(APIView):
    """Ask the scheduler to run a task now (admin); answers with the queued log."""

    permission_classes = _ADMIN

    @extend_schema(
        parameters=[_TASK_ID], request=None, responses={200: OpenApiTypes.OBJECT}
    )
    def post(self, request: Request, task_id: str) -> Response:
        task_log = task_run_request(task_id=task_id)
        return Response(task_run_body(task_id, task_log))


class TaskToggleView(APIView):
    """Switch a task on or off (admin)."""

    permission_classes = _ADMIN

    @extend_schema(
        parameters=[_TASK_ID],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request: Request, task_id: str) -> Response:
        task = task_toggle(task_id=task_id, enabled=parse_toggle_payload(request.data))
        return Response(task_toggle_body(task))


class TaskScheduleView(APIView):
    """Give a task a new cron schedule (admin)."""

    permission_classes = _ADMIN

    @extend_schema(
        parameters=[_TASK_ID],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request: Request, task_id: str) -> Response:
        overview = task_reschedule(
            task_id=task_id, schedule=parse_schedule_payload(request.data)
        )
        return Response(_task_body(overview))


class SchedulerStatusView(APIView):
    """Whether a scheduler leads, since when it beat, and its jobs."""

    permission_classes = _READ

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(scheduler_status_body(scheduler_status()))


class SchedulerJobActionView(APIView):
    """Run, pause or resume a job (admin); each route names its ``action``."""

    permission_classes = _ADMIN
    action = ""

    @extend_schema(
        parameters=[_TASK_ID], request=None, responses={200: OpenApiTypes.OBJECT}
    )
    def post(self, request: Request, task_id: str) -> Response:
        done = scheduler_job_control(task_id=task_id, action=self.action)
        return Response(scheduler_job_action_body(task_id, done))


class SchedulerJobRunView(SchedulerJobActionView):
    """Trigger a job now: the same as running its task (admin)."""

    action = "run"


class SchedulerJobPauseView(SchedulerJobActionView):
    """Pause a job: the same as disabling its task (admin)."""

    action = "pause"


class SchedulerJobResumeView(SchedulerJobActionView):
    """Resume a job: the same as enabling its task (admin)."""

    action = "resume"


class TaskLogListView(APIView):
    """The newest task logs, optionally of one task and status."""

    permission_classes = _READ

    @extend_schema(
        operation_id="task_logs_list",
        summary="List task logs, newest first",
        parameters=_LOG_QUERY,
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        page = task_log_list(**parse_task_log_query(request.query_params))
        body = task_log_list_body(
            page.logs, total=page.total, next_cursor=page.next_cursor
        )
        next_url = next_page_url(request, page.next_cursor)
        return Response(body, headers=next_page_headers(next_url))


class TaskLogDetailView(APIView):
    """One task log, such as the run a run endpoint answered with."""

    permission_classes = _READ

    @extend_schema(
        operation_id="task_logs_get",
        summary="Read one task log",
        parameters=[_LOG_ID],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, task_log_id: str) -> Response:
        log_id = parse_path_id(task_log_id)
        log = None if log_id is None else task_log_get(task_log_id=log_id)
        if log is None:
            raise NotFound("Task log not found")
        return Response(task_log_to_dict(log))


@extend_schema_view(
    get=extend_schema(operation_id="tasklogs_list", summary="List task logs (old name)")
)
@deprecated(
    sunset=date(2027, 6, 30),
    successor="/api/v1/task_logs",
    deprecated_on=date(2026, 1, 14),
)
class TaskLogLegacyListView(TaskLogListView):
    """The old name of the task log list, kept until its sunset."""


class TaskLogStatsView(APIView):
    """How many runs there were, by outcome, and the success rate."""

    permission_classes = _READ

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @cached_page("task_logs")
    def get(self, request: Request) -> Response:
        return Response(task_log_stats_body(task_log_stats()))
