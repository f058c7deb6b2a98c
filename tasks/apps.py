from django.apps import AppConfig


class TasksConfig(AppConfig):
    """Scheduled automation tasks, their runs and the scheduler."""

    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the built-in tasks."""
        import tasks.builtin  # noqa: F401
