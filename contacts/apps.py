from django.apps import AppConfig


class ContactsConfig(AppConfig):
    """Contacts whose phone and email are encrypted at rest."""

    name = "contacts"
    default_auto_field = "django.db.models.BigAutoField"
