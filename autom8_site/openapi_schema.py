"""The schema class of every view (``DEFAULT_SCHEMA_CLASS``), loaded only
when a schema is generated.

Every generation resolves the schema class before it reads a view's
annotations, so loading this module is where the annotations recorded by
``security.schema`` are applied, and where the bearer authentication gets
its OpenAPI security scheme. Web workers that never serve ``/api/v1/schema``
never import drf-spectacular's generator.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from security.schema import annotations_apply


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema class, unchanged."""


class BearerAuthenticationScheme(SimpleJWTScheme):
    """Documents ``BearerAuthentication`` in the OpenAPI schema as simplejwt's."""

    target_class = "security.authentication.BearerAuthentication"


# Last: applying an annotation resolves DEFAULT_SCHEMA_CLASS, this module.
annotations_apply()
