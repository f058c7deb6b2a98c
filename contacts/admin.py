"""Django admin for contacts: masked list, blind-index search, shared rules.

Phone and email are masked everywhere (``mask_pii``), except in the edit
form of a staff user holding ``contacts.view_contact_pii``: each such view
of clear values writes an audit line (who, which contact; never the values).
The form validates with ``contact_clean``, the same rules as the API; every
write goes through the contact services.
"""

from __future__ import annotations

import logging

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

audit_logger = logging.getLogger("autom8.audit")

MASK = "\u2022"
CONTACT_FIELDS = ("name", "phone", "email")
PII_PERMISSION = "contacts.view_contact_pii"


def _hide(text: str, *, head: int, tail: int) -> str:
    return text[:head] + MASK * (len(text) - head - tail) + text[len(text) - tail :]


def mask_pii(value: str | None) -> str:
    """A phone number or email address with most of it hidden.

    ``+2547•••••678``; ``a••••@•••••••.com``; blank for no value.
    """
    if not value:
        return ""
    if "@" in value:
        local, _, domain = value.rpartition("@")
        name, dot, suffix = domain.rpartition(".")
        hidden = _hide(name, head=0, tail=0) + dot + suffix if dot else MASK * 3
        return _hide(local, head=1, tail=0) + "@" + hidden
    head, tail = (5, 3) if len(value) >= 11 else (3, 2)
    return _hide(value, head=head, tail=tail)


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


class ContactNameForm(ContactAdminForm):
    """Edits the name only: for staff who may not see phone and email."""

    phone = None
    email = None


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    """Contacts in the admin; phone and email masked unless the user may see them."""

    form = ContactAdminForm
    fields = ("name", "phone", "email", "created_at", "updated_at")
    masked_fields = ("name", "masked_phone", "masked_email", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    list_display = ("name", "masked_phone", "masked_email", "created_at", "updated_at")
    search_fields = ("name",)
    search_help_text = "Part of a name, or an exact phone number or email address."
    ordering = ("name", "id")
    list_per_page = 50

    @admin.display(description="Phone")
    def masked_phone(self, contact: Contact) -> str:
        """The phone number, masked."""
        return mask_pii(contact.phone)

    @admin.display(description="Email")
    def masked_email(self, contact: Contact) -> str:
        """The email address masked, or a dash."""
        return mask_pii(contact.email) or "-"

    def _shows_pii(self, request: HttpRequest, obj: Contact | None) -> bool:
        """Whether the form shows clear values: always on add, else by permission."""
        return obj is None or request.user.has_perm(PII_PERMISSION)

    def get_fields(self, request: HttpRequest, obj: Contact | None = None):
        """Clear phone and email fields, or their masked read-only forms."""
        return self.fields if self._shows_pii(request, obj) else self.masked_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None):
        """The moments, plus the masked values for staff without the permission."""
        readonly = super().get_readonly_fields(request, obj)
        if self._shows_pii(request, obj):
            return readonly
        return (*readonly, "masked_phone", "masked_email")

    def get_form(self, request: HttpRequest, obj: Contact | None = None, **kwargs):
        """The full form, or the name-only form when phone and email are masked."""
        if not self._shows_pii(request, obj):
            kwargs["form"] = ContactNameForm
        return super().get_form(request, obj, **kwargs)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ):
        """The edit page; showing clear phone and email leaves an audit line."""
        response = super().change_view(request, object_id, form_url, extra_context)
        shown = getattr(response, "context_data", {}).get("original")
        if response.status_code != 200 or shown is None:
            return response
        if self._shows_pii(request, shown):
            audit_logger.info(
                "Contact PII viewed in clear",
                extra={"viewer": request.user.get_username(), "contact_id": shown.pk},
            )
        return response

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
