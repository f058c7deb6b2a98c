"""§6 routes under /api/v1/: metrics, system resources, the error log."""

from django.urls import path

from security.views import ApiMetricsView, ErrorLogView, SystemMetricsView

app_name = "observability"

urlpatterns = [
    path("metrics", ApiMetricsView.as_view(), name="metrics"),
    path("metrics/system", SystemMetricsView.as_view(), name="metrics_system"),
    path("logs/errors", ErrorLogView.as_view(), name="logs_errors"),
]
