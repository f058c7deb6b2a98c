"""OpenAPI annotations of the views, applied once a schema is generated.

drf-spectacular's ``extend_schema`` and ``extend_schema_view`` resolve the
schema class as they decorate, which imports ``drf_spectacular.openapi`` and
with it ``rest_framework.test``, ``django.test``, ``unittest`` and
``jinja2``: about 10 MB in every web worker, though a worker needs them only
to answer ``/api/v1/schema``. The decorators here take the same arguments,
record them and return the view unchanged; ``annotations_apply()`` hands
them to drf-spectacular in the order they were written when the schema class
(``autom8_site.openapi_schema``) is first loaded, which every schema
generation does before it reads an annotation. From then on they apply at
once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_pending: list[tuple[str, dict[str, Any], Any]] = []
_applied = False


def extend_schema(**kwargs: Any) -> Callable:
    """drf-spectacular's ``extend_schema``, applied when a schema is generated."""
    return _deferred("extend_schema", kwargs)


def extend_schema_view(**kwargs: Any) -> Callable:
    """drf-spectacular's ``extend_schema_view``, applied when a schema is generated."""
    return _deferred("extend_schema_view", kwargs)


def annotations_apply() -> None:
    """Apply the recorded annotations in order; later ones apply as written."""
    global _applied
    with _lock:
        if _applied:
            return
        _applied = True
        pending = list(_pending)
        _pending.clear()
    for name, kwargs, target in pending:
        _apply(name, kwargs, target)


def _deferred(name: str, kwargs: dict[str, Any]) -> Callable:
    def decorate(target):
        with _lock:
            if not _applied:
                _pending.append((name, kwargs, target))
                return target
        return _apply(name, kwargs, target)

    return decorate


def _apply(name: str, kwargs: dict[str, Any], target):
    from drf_spectacular import utils

    # Both decorators change the view in place and return it.
    return getattr(utils, name)(**kwargs)(target)
