"""Routes at the site root: the service entry point."""

from django.urls import path

from autom8_site import views

app_name = "site"

urlpatterns = [
    path("", views.RootView.as_view(), name="root"),
]
