"""Contact routes under /api/v1/ (no trailing slashes)."""

from django.urls import path

from contacts.views import ContactDetailView, ContactListView

app_name = "contacts"

urlpatterns = [
    path("contacts", ContactListView.as_view(), name="list"),
    # Any segment: the view answers "Contact not found" for ids like -1 too.
    path("contacts/<str:contact_id>", ContactDetailView.as_view(), name="detail"),
]
