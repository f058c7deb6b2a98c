"""Admin: tasks are edited (switch, schedule) and run; task logs are read-only.

"Run now" queues a run request that the scheduler executes, like the API.
The task list shows each task's last run, status, next run and run count
(annotated in one query); task logs link to their task and to the file a
run wrote; staff download backups and reports from "Backups and reports".
django-apscheduler's own pages (jobs, executions) are not shown: its job
store only mirrors the Task table, which is the one place to edit a
schedule, and its "run selected jobs" action would run task code inside
the web worker.

Listing tasks writes nothing. Task rows come from ``runscheduler`` (it
seeds the registered tasks at start), from the API's toggle and schedule
(a missing row is created from the registry defaults) and from the task
list's "Add registered tasks" button, a POST shown while registered tasks
have no row. A data migration was not used: it would run once, so tasks
registered later would still lack rows, and it would tie a migration to
the live registry.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from contract.errors import Autom8Error, Invalid
from tasks.models import Task, TaskLog
from tasks.scheduler.cron import schedule_normalise
from tasks.selectors import (
    task_file_list,
    task_file_path,
    task_next_run,
    task_unseeded_list,
    task_with_runs,
)
from tasks.services.catalog import task_seed, task_update
from tasks.services.execution import task_run_request


class TaskAdminForm(forms.ModelForm):
    """A task's switch and schedule; the schedule is checked like the API does."""

    class Meta:
        model = Task
        fields = ("schedule", "is_enabled")

    def clean_schedule(self) -> str:
        try:
            return schedule_normalise(self.cleaned_data["schedule"])
        except Invalid as exc:
            raise ValidationError(exc.message) from exc


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks come from code: no adding or deleting, only switch and schedule."""

    form = TaskAdminForm
    list_display = (
        "id",
        "name",
        "schedule",
        "is_enabled",
        "last_run",
        "last_status",
        "next_run",
        "run_count",
    )
    list_filter = ("is_enabled",)
    fields = ("id", "name", "schedule", "is_enabled", "created_at", "updated_at")
    readonly_fields = ("id", "name", "created_at", "updated_at")
    actions = ["run_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Task | None = None
    ) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        return task_with_runs(super().get_queryset(request))

    @admin.display(description="Last run", ordering="last_run_at")
    def last_run(self, task: Task):
        return task.last_run_at

    @admin.display(description="Status", ordering="last_status")
    def last_status(self, task: Task) -> str:
        return task.last_status or "-"

    @admin.display(description="Next run")
    def next_run(self, task: Task):
        return task_next_run(task)

    @admin.display(description="Runs", ordering="run_count")
    def run_count(self, task: Task) -> int:
        return task.run_count

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("seed/", view(self.seed_view), name="tasks_task_seed"),
            path("files/", view(self.files_view), name="tasks_task_files"),
            path(
                "files/<str:kind>/<str:name>",
                view(self.file_download_view),
                name="tasks_task_file",
            ),
            *super().get_urls(),
        ]

    def files_view(self, request: HttpRequest) -> HttpResponse:
        """The backups and reports on disk, each with a download link."""
        context = {
            **self.admin_site.each_context(request),
            "title": "Backups and reports",
            "opts": self.model._meta,
            "files": task_file_list(),
        }
        return TemplateResponse(request, "admin/tasks/task/files.html", context)

    def file_download_view(
        self, request: HttpRequest, kind: str, name: str
    ) -> FileResponse:
        """One backup or report as an attachment; 404 for anything else."""
        path = task_file_path(kind=kind, name=name)
        if path is None:
            raise Http404("No such file")
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        """The task list, offering to add registered tasks that have no row."""
        unseeded = [definition.name for definition in task_unseeded_list()]
        context = {"unseeded_tasks": unseeded, **(extra_context or {})}
        return super().changelist_view(request, context)

    def seed_view(self, request: HttpRequest) -> HttpResponse:
        """POST only: create the rows of registered tasks, back to the list."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        missing = task_unseeded_list()
        task_seed()
        self.message_user(
            request,
            f"{len(missing)} registered task(s) added",
            level=messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:tasks_task_changelist"))

    def save_model(
        self, request: HttpRequest, obj: Task, form: TaskAdminForm, change: bool
    ) -> None:
        task_update(
            task=obj,
            enabled=form.cleaned_data["is_enabled"],
            schedule=form.cleaned_data["schedule"],
        )

    @admin.action(description="Run now")
    def run_now(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        """Ask the scheduler to run each selected task now."""
        for task in queryset:
            try:
                log = task_run_request(task_id=task.pk)
            except Autom8Error as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
                continue
            self.message_user(
                request,
                f"Task '{task.pk}' queued: the scheduler starts it within seconds "
                f"(task log {log.pk})",
                level=messages.SUCCESS,
            )


@admin.register(TaskLog)
class TaskLogAdmin(admin.ModelAdmin):
    """The run history, read-only."""

    list_display = (
        "id",
        "task_link",
        "status",
        "trigger",
        "started_at",
        "completed_at",
        "owner",
        "file_link",
    )
    list_filter = (
        "status",
        "task_type",
        ("started_at", admin.DateFieldListFilter),
        "trigger",
    )
    search_fields = ("task_type", "task_name", "error")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: TaskLog | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: TaskLog | None = None
    ) -> bool:
        return False

    @admin.display(description="Task", ordering="task_type")
    def task_link(self, log: TaskLog) -> str:
        """The log's task, linked to its admin page."""
        url = reverse("admin:tasks_task_change", args=[log.task_type])
        return format_html('<a href="{}">{}</a>', url, log.task_type)

    @admin.display(description="File")
    def file_link(self, log: TaskLog) -> str:
        """A download link when the run wrote a backup or report still on disk."""
        name = _result_file_name(log.result)
        for kind in ("backups", "reports"):
            if name and task_file_path(kind=kind, name=name) is not None:
                url = reverse("admin:tasks_task_file", args=[kind, name])
                return format_html('<a href="{}">{}</a>', url, name)
        return "-"


def _result_file_name(result: str | None) -> str | None:
    """The base name of the ``file`` a run's result names, if any."""
    try:
        data = json.loads(result or "null")
    except ValueError:
        return None
    file = data.get("file") if isinstance(data, dict) else None
    return file.replace("\\", "/").rsplit("/", 1)[-1] if isinstance(file, str) else None


# One place edits schedules, the Task; django-apscheduler's own job and
# execution pages would show a second, conflicting copy.
for _model in (DjangoJob, DjangoJobExecution):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
