"""OpenAPI post-processing: named components from the recorded contract shapes.

Views return plain dicts built by ``contract`` functions, so drf-spectacular
cannot see their shapes. This hook turns every shape of
``contract/snapshot.json`` into a named component (nested objects that are
themselves recorded shapes become references), refines its fields with the
formats and enums of the definitions that produce them, documents each
route of ``contract.snapshot.ROUTES`` with its component, each request body
with the rules that validate it, and each operation's errors with the §1
envelope per status. The docs therefore follow the code and the snapshot
and cannot drift from them.
"""

from __future__ import annotations

import json
import re
from functools import cache

from django.urls import Resolver404, resolve
from rest_framework.permissions import AllowAny

from autom8_site.health import DEGRADED, DOWN, HEALTHY, OK, UNHEALTHY
from contacts.models import (
    CONTACT_LIST_DEFAULT_LIMIT,
    CONTACT_LIST_MAX_LIMIT,
    CONTACT_SORT_FIELDS,
    CONTACT_SORT_ORDERS,
)
from contacts.validation import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NAME_MIN_LENGTH,
    PHONE_EXAMPLE,
    PHONE_MAX_INPUT_LENGTH,
)
from contract.auth import PASSWORD_MAX, TOKEN_MAX, USERNAME_MAX
from contract.contacts import NULLABLE_FIELDS, PAYLOAD_FIELDS, REQUIRED_FIELDS
from contract.errors import STATUS_PHRASES
from contract.snapshot import MAP_KEY, ROUTES, SNAPSHOT_PATH, route_key
from contract.tasks import TASK_LOG_STATUSES, TASK_STATUSES, TASK_TYPE_MAX_LENGTH
from security.permissions import ADMIN, USER
from tasks.models import TASK_LOG_LIST_DEFAULT_LIMIT, TASK_LOG_LIST_MAX_LIMIT

_JSON = "application/json"
_SUCCESS_CODES = ("200", "201", "204")
ERROR_COMPONENT = "Error"

# Fields rendered by ``contract.time.iso_utc`` (ISO 8601 UTC ending in Z);
# tests/test_openapi.py checks every recorded sample against this set.
TIMESTAMP_FIELDS = frozenset(
    {
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
        "last_run",
        "next_run",
        "next_run_time",
        "heartbeat_at",
        "timestamp",
    }
)
# "shape.dotted.path" -> the values the producing code may put there.
FIELD_ENUMS: dict[str, tuple[str, ...]] = {
    "task_log.status": TASK_LOG_STATUSES,
    "task.status": TASK_STATUSES,
    "token_pair.token_type": ("Bearer",),
    "protected.role": (ADMIN, USER),
    "health.status": (HEALTHY, DEGRADED, UNHEALTHY),
    "health.checks.database": (OK, DOWN),
    "health.checks.cache": (OK, DOWN),
    "health.checks.scheduler": (OK, "stale", "not_running"),
    "error.error": tuple(dict.fromkeys(STATUS_PHRASES.values())),
}
# Top-level tags, one per zone of the API (``security`` is ``auth``).
ZONES = (
    ("/api/v1/auth/", "auth"),
    ("/api/v1/contacts", "contacts"),
    ("/api/v1/task", "tasks"),
    ("/api/v1/scheduler/", "tasks"),
)
DISCOVERY_ZONE = "discovery"


def _contact_body(*, partial: bool) -> dict:
    rules = {
        "name": {
            "type": "string",
            "minLength": NAME_MIN_LENGTH,
            "maxLength": NAME_MAX_LENGTH,
            "description": "Trimmed; no control characters, < or >.",
        },
        "phone": {
            "type": "string",
            "maxLength": PHONE_MAX_INPUT_LENGTH,
            "example": PHONE_EXAMPLE,
            "description": "E.164; national formats only with DEFAULT_PHONE_REGION.",
        },
        "email": {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH},
    }
    properties = {
        field: {
            **rules[field],
            **({"nullable": True} if field in NULLABLE_FIELDS else {}),
        }
        for field in PAYLOAD_FIELDS
    }
    body = {"type": "object", "properties": properties}
    if not partial:
        body["required"] = list(REQUIRED_FIELDS)
    return body


def _text_body(**fields: int) -> dict:
    return {
        "type": "object",
        "properties": {
            name: {"type": "string", "minLength": 1, "maxLength": maximum}
            for name, maximum in fields.items()
        },
        "required": list(fields),
    }


# Request components: name -> schema, from the rules that validate them.
REQUEST_COMPONENTS = {
    "ContactCreateRequest": _contact_body(partial=False),
    "ContactUpdateRequest": _contact_body(partial=True),
    "TokenRequest": _text_body(username=USERNAME_MAX, password=PASSWORD_MAX),
    "RefreshRequest": _text_body(refresh=TOKEN_MAX),
    "TaskToggleRequest": {
        "type": "object",
        "properties": {"enabled": {"type": "boolean"}},
        "required": ["enabled"],
    },
    "TaskScheduleRequest": {
        "type": "object",
        "properties": {
            "schedule": {"type": "string", "example": "*/5 * * * *"},
        },
        "required": ["schedule"],
    },
}
REQUEST_BODIES = {
    "POST /api/v1/contacts": "ContactCreateRequest",
    "PUT /api/v1/contacts/{id}": "ContactUpdateRequest",
    "PATCH /api/v1/contacts/{id}": "ContactUpdateRequest",
    "POST /api/v1/auth/token": "TokenRequest",
    "POST /api/v1/auth/token/refresh": "RefreshRequest",
    "POST /api/v1/auth/logout": "RefreshRequest",
    "PUT /api/v1/tasks/{id}/toggle": "TaskToggleRequest",
    "PUT /api/v1/tasks/{id}/schedule": "TaskScheduleRequest",
}
_TASK_LOG_QUERY = {
    "limit": {
        "minimum": 1,
        "maximum": TASK_LOG_LIST_MAX_LIMIT,
        "default": TASK_LOG_LIST_DEFAULT_LIMIT,
    },
    "offset": {"minimum": 0, "default": 0},
    "task_type": {"maxLength": TASK_TYPE_MAX_LENGTH},
}
# Query parameters whose rules the selectors hold.
QUERY_RULES = {
    "GET /api/v1/contacts": {
        "limit": {
            "minimum": 1,
            "maximum": CONTACT_LIST_MAX_LIMIT,
            "default": CONTACT_LIST_DEFAULT_LIMIT,
        },
        "offset": {"minimum": 0, "default": 0},
        "sort": {"enum": list(CONTACT_SORT_FIELDS)},
        "order": {"enum": list(CONTACT_SORT_ORDERS)},
    },
    "GET /api/v1/task_logs": _TASK_LOG_QUERY,
    "GET /api/v1/tasklogs": _TASK_LOG_QUERY,
}
# Errors answered with the route's own body instead of the envelope (§2).
OWN_ERROR_BODIES = {"GET /api/v1/health": {503: "health"}}
# Routes where the state can refuse the request.
CONFLICT_ROUTES = frozenset(
    {
        "POST /api/v1/contacts",
        "PUT /api/v1/contacts/{id}",
        "PATCH /api/v1/contacts/{id}",
        "POST /api/v1/tasks/{id}/run",
        "POST /api/v1/scheduler/jobs/{id}/run",
    }
)
_ERROR_WHY = {
    400: "A parameter or the body is invalid (details name the fields)",
    401: "Missing, malformed, expired or revoked bearer token",
    403: "The caller's role may not do this",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE",
    415: "The body is not application/json",
    429: "Rate limit exceeded; see Retry-After",
    503: "A dependency (database, cache, scheduler) is unreachable",
}
_HEADERS = {
    "Link": 'The next page as `<url>; rel="next"`, absent on the last page',
    "Location": "The URL of the created resource",
    "Retry-After": "Seconds to wait before retrying",
}


@cache
def _recorded_shapes() -> dict:
    return json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))


def component_name(shape: str) -> str:
    """``task_log_list`` -> ``TaskLogList``: a shape's component name."""
    return "".join(part.capitalize() for part in shape.split("_"))


def shape_components(shapes: dict) -> dict[str, dict]:
    """A named OpenAPI component for every recorded object shape."""
    refs = {
        _frozen(shape): name
        for name, shape in shapes.items()
        if isinstance(shape, dict) and MAP_KEY not in shape
    }
    components = {
        component_name(name): openapi_schema(shape, owner=name, refs=refs)
        for name, shape in shapes.items()
        if name not in ("error", "error_with_details")
    }
    components[ERROR_COMPONENT] = _error_schema(shapes)
    return components


def _error_schema(shapes: dict) -> dict:
    full = openapi_schema(shapes["error_with_details"], owner="error")
    full["required"] = list(shapes["error"])
    full["properties"]["details"]["description"] = "Field errors, by field name"
    return full


def _frozen(shape: object) -> str:
    return json.dumps(shape, sort_keys=True)


def openapi_schema(
    shape: object, *, owner: str = "", refs: dict | None = None, at: str = ""
) -> dict:
    """The OpenAPI 3.0 schema of a recorded shape (see contract.snapshot).

    ``owner`` names the shape, so FIELD_ENUMS and TIMESTAMP_FIELDS refine
    its fields; nested objects found in ``refs`` (frozen shape -> shape
    name) become references to that shape's component.
    """
    refs = refs or {}
    if isinstance(shape, dict) and MAP_KEY in shape:
        value = shape[MAP_KEY]
        inner = (
            {}
            if value is None
            else openapi_schema(value, owner=owner, at=at, refs=refs)
        )
        return {"type": "object", "additionalProperties": inner}
    if isinstance(shape, dict):
        ref = refs.get(_frozen(shape))
        if at and ref is not None:
            return {"$ref": f"#/components/schemas/{component_name(ref)}"}
        return {
            "type": "object",
            "properties": {
                key: openapi_schema(
                    value, owner=owner, at=f"{at}.{key}".lstrip("."), refs=refs
                )
                for key, value in shape.items()
            },
            "required": list(shape),
        }
    if isinstance(shape, list):
        items = openapi_schema(shape[0], owner=owner, at=at, refs=refs) if shape else {}
        return {"type": "array", "items": items}
    return _scalar(
        shape, field=at.rsplit(".", 1)[-1], enum=FIELD_ENUMS.get(f"{owner}.{at}")
    )


def _scalar(shape: str, *, field: str, enum: tuple[str, ...] | None) -> dict:
    kinds = shape.split("|")
    nullable = "null" in kinds
    kinds = [kind for kind in kinds if kind != "null"]
    schema: dict = {"type": _OPENAPI_TYPES[kinds[0]]} if kinds else {}
    if kinds == ["str"] and field in TIMESTAMP_FIELDS:
        schema["format"] = "date-time"
    if enum is not None:
        # OpenAPI 3.0 validators check enum before nullable: list null too.
        schema["enum"] = [*enum, *([None] if nullable else [])]
    if nullable:
        schema["nullable"] = True
    return schema


_OPENAPI_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
}
_ROUTES_BY_KEY = {route_key(*route.split(" ", 1)): route for route in ROUTES}


def attach_contract_shapes(result: dict, generator, request, public: bool) -> dict:
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry; returns the schema."""
    shapes = _recorded_shapes()
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(shape_components(shapes))
    schemas.update(REQUEST_COMPONENTS)
    for path, operations in result.get("paths", {}).items():
        view = view_class(path)
        for method, operation in operations.items():
            route = _ROUTES_BY_KEY.get(route_key(method, path))
            _document(operation, route=route, path=path, view=view)
    _drop_unreferenced(schemas, result)
    return result


def _drop_unreferenced(schemas: dict, result: dict) -> None:
    """Remove the components a view declared but the hook replaced."""
    while True:
        text = json.dumps(result, default=str)
        unused = [
            name for name in schemas if f'"#/components/schemas/{name}"' not in text
        ]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def _document(operation: dict, *, route: str | None, path: str, view) -> None:
    operation["tags"] = [_zone(path)]
    if not operation.get("summary"):
        operation["summary"] = _first_sentence(operation.get("description", ""))
    responses = operation.setdefault("responses", {})
    if route is not None:
        status, shape = ROUTES[route]
        for code in _SUCCESS_CODES:
            responses.pop(code, None)
        responses[str(status)] = _success(route, status, shape)
        _add_text_renderings(responses[str(status)], view)
        if route in REQUEST_BODIES:
            operation["requestBody"] = {
                "required": True,
                "content": {_JSON: {"schema": _ref(REQUEST_BODIES[route])}},
            }
        _refine_query(operation, QUERY_RULES.get(route, {}))
    own = OWN_ERROR_BODIES.get(route, {})
    for status in _error_statuses(operation, route=route, path=path, view=view):
        if status in own:
            description = responses.get(str(status), {}).get("description", "")
            responses[str(status)] = {
                "description": description or _ERROR_WHY[status],
                "content": {_JSON: {"schema": _ref(component_name(own[status]))}},
            }
        else:
            responses[str(status)] = _error(status)
    responses["default"] = _error(None)


def _add_text_renderings(response: dict, view) -> None:
    """Document the other media types the view renders (``/metrics``'s
    Prometheus text) as text beside the JSON shape."""
    content = response.get("content")
    for renderer in getattr(view, "renderer_classes", ()) if content else ():
        if renderer.media_type.split(";")[0] not in (_JSON, "*/*"):
            kind = renderer.media_type.split(";")[0]
            content[kind] = {"schema": {"type": "string", "format": "binary"}}


def _success(route: str, status: int, shape: str | None) -> dict:
    if shape is None:
        return {"description": "No response body"}
    response = {
        "description": "Success",
        "content": {_JSON: {"schema": _ref(component_name(shape))}},
    }
    if status == 201:
        response["headers"] = _headers("Location")
    elif '"next_cursor"' in _frozen(_recorded_shapes()[shape]):  # a listing
        response["headers"] = _headers("Link")
    return response


def _error_statuses(operation: dict, *, route: str | None, path: str, view) -> list:
    statuses = [400]
    public = view is None or any(
        permission is AllowAny for permission in view.permission_classes
    )
    if not public:
        statuses += [401, 403]
    elif _zone(path) == "auth":  # credentials in the body can be refused too
        statuses.append(401)
    if "{" in path:
        statuses.append(404)
    if route in CONFLICT_ROUTES:
        statuses.append(409)
    if "requestBody" in operation:
        statuses += [413, 415]
    if view is None or view.throttle_classes:
        statuses.append(429)
    statuses.append(503)
    return statuses


def _error(status: int | None) -> dict:
    why = "Any other error" if status is None else _ERROR_WHY[status]
    response = {
        "description": why,
        "content": {_JSON: {"schema": _ref(ERROR_COMPONENT)}},
    }
    if status in (429, 503):
        response["headers"] = _headers("Retry-After")
    return response


def _headers(*names: str) -> dict:
    return {
        name: {"description": _HEADERS[name], "schema": {"type": "string"}}
        for name in names
    }


def _refine_query(operation: dict, rules: dict) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query":
            continue
        if parameter["schema"].get("type") == "string":
            # contract.query.parse_known_params: present but empty is a 400.
            parameter["schema"]["minLength"] = 1
        parameter["schema"].update(rules.get(parameter["name"], {}))


def _ref(component: str) -> dict:
    return {"$ref": f"#/components/schemas/{component}"}


def _zone(path: str) -> str:
    for prefix, zone in ZONES:
        if path.startswith(prefix):
            return zone
    return DISCOVERY_ZONE


def _first_sentence(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return re.split(r"(?<=[.;])\s(?=[A-Z])|;\s", line, maxsplit=1)[0].rstrip(".;")


def view_class(path: str):
    """The APIView class serving an OpenAPI path, or None."""
    try:
        match = resolve(re.sub(r"{[^}]*}", "1", path))
    except Resolver404:
        return None
    return getattr(match.func, "cls", None)
