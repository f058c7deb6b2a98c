from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """Authentication, encryption, rate limits, middleware and error rendering."""

    name = "security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the invalidation of cached users in every process."""
        from security.user_cache import connect_signals

        connect_signals()
