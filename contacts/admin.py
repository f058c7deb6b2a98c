"""Django admin for contacts: masked list, blind-index search, shared rules.

The edit form shows the decrypted phone and email and validates them with
``contact_clean``, the same rules as the API; every write goes through the
contact services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from contacts.models import Contact
from contacts.selectors import contact_phone_taken, contact_search_q
from contacts.services import (
    DUPLICATE_PHONE_MESSAGE,
    contact_create,
    contact_delete,
    contact_update,
)
from contacts.validation import contact_clean
from contract.errors import Invalid

MASK = "\u2022"
CONTACT_FIELDS = ("name", "phone", "email")


def mask_phone(phone: str | None) -> str:
    """The number with its middle digits hidden: ``+2547•••••678``."""
    if not phone:
        return ""
    head, tail = (5, 3) if len(phone) >= 11 else (3, 2)
    return phone[:head] + MASK * (len(phone) - head - tail) + phone[-tail:]


class ContactAdminForm(forms.ModelForm):
    """Edits a contact's plain values; the API's rules decide what is valid."""

    name = forms.CharField(strip=False)
    phone = forms.CharField(
        strip=False, help_text="International format, e.g. +254712345678"
    )
    email = forms.CharField(strip=False, required=False)

    class Meta:
        model = Contact
        fields = ("name",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.contact_fields: dict[str, str | None] = {}
        if self.instance.pk:
            self.initial.setdefault("phone", self.instance.phone)
            self.initial.setdefault("email", self.instance.email or "")

    def clean(self) -> dict:
        """Normalise with the shared rules; flag a phone already taken."""
        data = super().clean()
        given = {field: data[field] for field in CONTACT_FIELDS if field in data}
        try:
            self.contact_fields = contact_clean(given)
        except Invalid as exc:
            for field, messages in exc.details.items():
                self.add_error(field, messages)
            return data
        data.update(self.contact_fields)
        phone = self.contact_fields.get("phone")
        # Only a friendly early message: the unique index still decides.
        if phone and contact_phone_taken(phone=phone, exclude_id=self.instance.pk):
            self.add_error("phone", DUPLICATE_PHONE_MESSAGE)
        return data


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Contacts in the admin; phone numbers are masked in the list."""

    form = ContactAdminForm
    fields = ("name", "phone", "email", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    list_display = ("name", "masked_phone", "display_email", "created_at", "updated_at")
    search_fields = ("name",)
    search_help_text = "Part of a name, or an exact phone number or email address."
    ordering = ("name", "id")
    list_per_page = 50

    @admin.display(description="Phone")
    def masked_phone(self, contact: Contact) -> str:
        """The phone number with its middle digits hidden."""
        return mask_phone(contact.phone)

    @admin.display(description="Email")
    def display_email(self, contact: Contact) -> str:
        """The email address, or a dash."""
        return contact.email or "-"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Name substring matches plus exact phone or email matches, the
        latter found through the blind indexes."""
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        exact = contact_search_q(search_term.strip())
        if exact:
            results = results | queryset.filter(exact)
        return results, may_have_duplicates

    def save_model(
        self, request: HttpRequest, obj: Contact, form: forms.Form, change: bool
    ) -> None:
        """Write through the services: changed fields only on edit."""
        if change:
            changes = {
                field: value
                for field, value in form.contact_fields.items()
                if field in form.changed_data
            }
            contact_update(obj, changes=changes)
            return
        created = contact_create(**form.contact_fields)
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Contact) -> None:
        """Delete through the service."""
        contact_delete(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Delete each selected contact through the service."""
        for contact in queryset:
            contact_delete(contact)
