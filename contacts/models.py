"""The flat Contact model: name in clear, phone and email encrypted at rest."""

from django.db import models
from django.utils import timezone

from contacts.validation import email_lookup_value
from security.crypto import EncryptedAttribute

CONTACT_SORT_FIELDS = ("id", "name", "created_at", "updated_at")
CONTACT_SORT_ORDERS = ("asc", "desc")
CONTACT_LIST_DEFAULT_LIMIT = 100
CONTACT_LIST_MAX_LIMIT = 1000


class Contact(models.Model):
    """A person to reach. ``phone`` and ``email`` exist only as ciphertext in
    the database; their blind indexes serve uniqueness and exact lookups."""

    name = models.CharField(max_length=100)
    phone_encrypted = models.TextField(editable=False)
    phone_index = models.CharField(max_length=64, unique=True, editable=False)
    email_encrypted = models.TextField(null=True, blank=True, editable=False)
    email_index = models.CharField(
        max_length=64, null=True, blank=True, db_index=True, editable=False
    )
    # Set by the services from one clock reading (auto_now_add and auto_now
    # would each read the clock, so a new contact's two moments would differ).
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    phone = EncryptedAttribute("phone_encrypted", index="phone_index")
    email = EncryptedAttribute(
        "email_encrypted", index="email_index", index_value=email_lookup_value
    )

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("view_contact_pii", "Can view contact phone and email in clear"),
        ]
        indexes = [
            # Keyset pagination walks (sort key, id) in both directions.
            models.Index(fields=["name", "id"], name="contact_name_id"),
            models.Index(fields=["created_at", "id"], name="contact_created_id"),
            models.Index(fields=["updated_at", "id"], name="contact_updated_id"),
        ]

    def __str__(self) -> str:
        return self.name
