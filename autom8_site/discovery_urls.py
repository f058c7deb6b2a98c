"""Discovery routes under ``/api/v1/``: health, info, schema, Swagger UI, ReDoc."""

from django.urls import path

from autom8_site import views

app_name = "discovery"

urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("info", views.InfoView.as_view(), name="info"),
    path("schema", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    path("redoc/", views.RedocView.as_view(), name="redoc"),
]
