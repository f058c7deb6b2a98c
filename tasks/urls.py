"""Routes of §5: tasks, the scheduler and task logs (no trailing slashes)."""

from django.urls import path

from tasks import views

app_name = "tasks"

urlpatterns = [
    path("tasks", views.TaskListView.as_view(), name="list"),
    path("tasks/<str:task_id>", views.TaskDetailView.as_view(), name="detail"),
    path("tasks/<str:task_id>/run", views.TaskRunView.as_view(), name="run"),
    path("tasks/<str:task_id>/toggle", views.TaskToggleView.as_view(), name="toggle"),
    path(
        "tasks/<str:task_id>/schedule",
        views.TaskScheduleView.as_view(),
        name="schedule",
    ),
    path(
        "scheduler/status", views.SchedulerStatusView.as_view(), name="scheduler-status"
    ),
    path(
        "scheduler/jobs/<str:task_id>/run",
        views.SchedulerJobRunView.as_view(),
        name="job-run",
    ),
    path(
        "scheduler/jobs/<str:task_id>/pause",
        views.SchedulerJobPauseView.as_view(),
        name="job-pause",
    ),
    path(
        "scheduler/jobs/<str:task_id>/resume",
        views.SchedulerJobResumeView.as_view(),
        name="job-resume",
    ),
    path("task_logs", views.TaskLogListView.as_view(), name="log-list"),
    path("task_logs/stats", views.TaskLogStatsView.as_view(), name="log-stats"),
    # After "stats": any other segment is an id ("abc" is simply not found).
    path(
        "task_logs/<str:task_log_id>",
        views.TaskLogDetailView.as_view(),
        name="log-detail",
    ),
    path("tasklogs", views.TaskLogLegacyListView.as_view(), name="log-list-deprecated"),
]
