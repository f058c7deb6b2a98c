from django.apps import AppConfig


class SecurityConfig(AppConfig):
    """Authentication, encryption, rate limits, middleware and error rendering."""

    name = "security"
    default_auto_field = "django.db.models.BigAutoField"
