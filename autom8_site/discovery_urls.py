"""Discovery routes under ``/api/v1/``: health, info, schema, Swagger UI, ReDoc."""

from collections.abc import Callable
from functools import cache

from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from autom8_site import views

app_name = "discovery"


def _docs_view(name: str) -> Callable:
    """The view ``autom8_site.docs_views.<name>``, imported on its first request.

    Those views bring drf-spectacular's schema generator (about 10 MB); a
    worker that never serves them never loads it.
    """

    # Exempt at Django's level, as every DRF view is (DRF checks CSRF itself).
    @csrf_exempt
    def view(request, *args, **kwargs):
        return _docs_view_loaded(name)(request, *args, **kwargs)

    view.__module__ = "autom8_site.docs_views"
    view.__name__ = view.__qualname__ = name
    return view


@cache
def _docs_view_loaded(name: str) -> Callable:
    from autom8_site import docs_views

    return getattr(docs_views, name).as_view()


urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("info", views.InfoView.as_view(), name="info"),
    path("schema", _docs_view("SchemaView"), name="schema"),
    path("docs/", _docs_view("DocsView"), name="docs"),
    path("redoc/", _docs_view("RedocView"), name="redoc"),
]
