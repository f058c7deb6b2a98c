"""Routes at the site root: the service entry point and ``/metrics``."""

from django.urls import path

from autom8_site import views
from security.views import MetricsView

app_name = "site"

urlpatterns = [
    path("", views.RootView.as_view(), name="root"),
    path("metrics", MetricsView.as_view(), name="metrics"),
]
