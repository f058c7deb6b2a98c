"""Admin: tasks are edited (switch, schedule) and run; task logs are read-only.

"Run now" queues a run request that the scheduler executes, like the API.
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

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import URLPattern, path, reverse
from django_apscheduler.models import DjangoJob, DjangoJobExecution

from contract.errors import Autom8Error, Invalid
from tasks.models import Task, TaskLog
from tasks.scheduler.cron import schedule_normalise
from tasks.selectors import task_unseeded_list
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
    list_display = ("id", "name", "schedule", "is_enabled", "updated_at")
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

    def get_urls(self) -> list[URLPattern]:
        seed = path(
            "seed/",
            self.admin_site.admin_view(self.seed_view),
            name="tasks_task_seed",
        )
        return [seed, *super().get_urls()]

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
        "task_type",
        "status",
        "trigger",
        "started_at",
        "completed_at",
        "owner",
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


# Registered by django_apscheduler.admin, which the admin autodiscovers first.
for _model in (DjangoJob, DjangoJobExecution):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
