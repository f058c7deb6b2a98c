"""The ceiling app's routes, on the same paths as Autom8's."""

from django.urls import path

from bench.ceiling.views import FixedContactListView, FixedContactView, status_view

urlpatterns = [
    path("api/v1/contacts", FixedContactListView.as_view()),
    path("api/v1/contacts/<str:contact_id>", FixedContactView.as_view()),
    path("api/v1/health", status_view),
]
