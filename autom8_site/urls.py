"""Root URL configuration: the site pages and the v1 API."""

from django.contrib import admin
from django.urls import include, path

api_v1 = [
    path("", include("autom8_site.discovery_urls")),
    path("auth/", include("security.urls")),
    path("", include("contacts.urls")),
    path("", include("tasks.urls")),
    path("", include("security.metrics_urls")),
    path("", include("security.cache.urls")),
]

urlpatterns = [
    path("", include("autom8_site.root_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
]

handler400 = "security.exceptions.bad_request"
handler403 = "security.exceptions.permission_denied"
handler404 = "security.exceptions.page_not_found"
handler500 = "security.exceptions.server_error"
