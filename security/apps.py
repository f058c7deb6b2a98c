from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.backends.signals import connection_created

from security.files import sqlite_files_private


class SecurityConfig(AppConfig):
    """Authentication, encryption, rate limits, middleware and error rendering."""

    name = "security"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Keep SQLite's files private, watch writes for the page cache and
        drop cached users when they change; from the first connection on."""
        from security.cache.generations import watch_writes
        from security.user_cache import connect_signals

        connect_signals()
        connection_created.connect(
            _sqlite_files_private, dispatch_uid="autom8.sqlite_files_private"
        )
        connection_created.connect(watch_writes, dispatch_uid="autom8.watch_writes")


def _sqlite_files_private(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        sqlite_files_private(connection.settings_dict["NAME"])


class Autom8AdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the rate-limited login site as ``admin.site``."""

    default = False  # named in INSTALLED_APPS; SecurityConfig stays the app's
    default_site = "security.admin_site.Autom8AdminSite"
