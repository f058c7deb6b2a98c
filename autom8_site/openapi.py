"""OpenAPI post-processing: response bodies from the recorded contract shapes.

Views return plain dicts built by ``contract`` functions, so drf-spectacular
cannot see their shapes. This hook documents every route of
``contract.snapshot.ROUTES`` with the schema of its recorded shape, and
every operation's errors with the §1 envelope; the docs therefore follow
``contract/snapshot.json`` and cannot drift from it.
"""

from __future__ import annotations

import json
from functools import cache

from contract.snapshot import ROUTES, SNAPSHOT_PATH, openapi_schema, route_key

_ROUTES_BY_KEY = {
    route_key(*route.split(" ", 1)): spec for route, spec in ROUTES.items()
}
_SUCCESS_CODES = {"200", "201", "204"}
_JSON = "application/json"


@cache
def _recorded_shapes() -> dict:
    return json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))


def attach_contract_shapes(result: dict, generator, request, public: bool) -> dict:
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry; returns the schema."""
    shapes = _recorded_shapes()
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            spec = _ROUTES_BY_KEY.get(route_key(method, path))
            responses = operation.setdefault("responses", {})
            if spec is not None:
                _document_success(responses, *spec, shapes=shapes)
            if "error" in shapes:
                responses.setdefault(
                    "default", _body("Error", openapi_schema(shapes["error"]))
                )
    return result


def _document_success(
    responses: dict, status: int, shape: str | None, *, shapes: dict
) -> None:
    if shape is None:
        success = {"description": "No response body"}
    elif shape in shapes:
        success = _body("Success", openapi_schema(shapes[shape]))
    else:  # not recorded yet: keep what the view declared
        return
    for code in _SUCCESS_CODES:
        responses.pop(code, None)
    responses[str(status)] = success


def _body(description: str, schema: dict) -> dict:
    return {"description": description, "content": {_JSON: {"schema": schema}}}
