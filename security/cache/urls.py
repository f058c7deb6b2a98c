"""Performance routes under /api/v1/ (no trailing slashes)."""

from django.urls import path

from security.cache.views import CacheClearView

app_name = "performance"

urlpatterns = [
    path("performance/cache/clear", CacheClearView.as_view(), name="cache-clear"),
]
