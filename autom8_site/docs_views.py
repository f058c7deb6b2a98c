"""The OpenAPI schema and the pages showing it: Swagger UI and ReDoc.

Anonymous and exempt from rate limits, like the other discovery views
(``autom8_site.views``). They import drf-spectacular's generator, so the URL
configuration loads this module on their first request only
(``autom8_site.discovery_urls``).
"""

from __future__ import annotations

from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import AllowAny


class _Public:
    """Anonymous, unthrottled: discovery, like ``autom8_site.views``."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []


class SchemaView(_Public, SpectacularAPIView):
    """The OpenAPI 3 document: JSON, or YAML when asked for it."""

    renderer_classes = [
        OpenApiJsonRenderer,
        OpenApiJsonRenderer2,
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
    ]


class DocsView(_Public, SpectacularSwaggerSplitView):
    """Swagger UI from the server's own static files; no inline script."""

    url_name = "discovery:schema"
    template_name = "autom8_site/swagger_ui.html"


class RedocView(_Public, SpectacularRedocView):
    """ReDoc from the server's own static files; no inline script or style."""

    url_name = "discovery:schema"
    template_name = "autom8_site/redoc.html"
