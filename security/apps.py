from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class SecurityConfig(AppConfig):
    """Authentication, encryption, rate limits, middleware and error rendering."""

    name = "security"
    default_auto_field = "django.db.models.BigAutoField"


class Autom8AdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the rate-limited login site as ``admin.site``."""

    default = False  # named in INSTALLED_APPS; SecurityConfig stays the app's
    default_site = "security.admin_site.Autom8AdminSite"
