from django.apps import AppConfig


class TasksConfig(AppConfig):
    """Scheduled automation tasks, their runs and the scheduler."""

    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"
