"""The recorded response shapes and the routes that answer them (§8).

A shape is what a contract function returns, reduced to types: ``"str"``,
``"int"``, ``"float"``, ``"bool"``, ``"null"`` or a union such as
``"str|null"``; a JSON object is a dict of field shapes; a list is
``[item shape]`` (``[]`` when no item was seen); an object with free keys
(a map, e.g. the error envelope's ``details``) is ``{"*": value shape}``.

``contract/snapshot.json`` holds the shapes as shipped. The snapshot test
rebuilds them from the contract functions and fails on any difference;
``python manage.py contract_snapshot --write`` records a deliberate change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

SNAPSHOT_PATH = Path(__file__).with_name("snapshot.json")

MAP_KEY = "*"

# Every route of API_CONTRACT.md §2-§7: "METHOD path" -> (success status,
# shape).
# The shape is a key of the snapshot, or None for an empty or non-JSON body.
# Path parameters are written ``{id}``; any parameter name matches. The
# schema and docs routes describe the API rather than belong to it, so the
# schema leaves them out (SERVE_INCLUDE_SCHEMA).
ROUTES: dict[str, tuple[int, str | None]] = {
    "GET /": (200, "root"),
    "GET /api/v1/health": (200, "health"),
    "GET /api/v1/info": (200, "info"),
    "POST /api/v1/auth/token": (200, "token_pair"),
    "POST /api/v1/auth/token/refresh": (200, "token_pair"),
    "POST /api/v1/auth/logout": (204, None),
    "GET /api/v1/auth/protected": (200, "protected"),
    "GET /api/v1/contacts": (200, "contact_list"),
    "POST /api/v1/contacts": (201, "contact"),
    "GET /api/v1/contacts/{id}": (200, "contact"),
    "PUT /api/v1/contacts/{id}": (200, "contact"),
    "PATCH /api/v1/contacts/{id}": (200, "contact"),
    "DELETE /api/v1/contacts/{id}": (204, None),
    "GET /api/v1/tasks": (200, "task_list"),
    "GET /api/v1/tasks/{id}": (200, "task"),
    "POST /api/v1/tasks/{id}/run": (200, "task_run"),
    "PUT /api/v1/tasks/{id}/toggle": (200, "task_toggle"),
    "PUT /api/v1/tasks/{id}/schedule": (200, "task"),
    "GET /api/v1/scheduler/status": (200, "scheduler_status"),
    "POST /api/v1/scheduler/jobs/{id}/run": (200, "job_action"),
    "POST /api/v1/scheduler/jobs/{id}/pause": (200, "job_action"),
    "POST /api/v1/scheduler/jobs/{id}/resume": (200, "job_action"),
    "GET /api/v1/task_logs": (200, "task_log_list"),
    "GET /api/v1/task_logs/stats": (200, "task_log_stats"),
    "GET /api/v1/task_logs/{id}": (200, "task_log"),
    "GET /api/v1/tasklogs": (200, "task_log_list"),
    "GET /metrics": (200, "metrics_summary"),
    "GET /api/v1/metrics": (200, "api_metrics"),
    "GET /api/v1/metrics/system": (200, "system_metrics"),
    "GET /api/v1/logs/errors": (200, "error_log"),
    "POST /api/v1/performance/cache/clear": (200, "cache_clear"),
}

ERROR_SHAPES = ("error", "error_with_details")


class ShapeMismatch(ValueError):
    """Two samples of one shape differ beyond ``null`` (data-dependent shape)."""


def route_key(method: str, path: str) -> str:
    """``"GET /api/v1/contacts/{}"``: a route with its parameter names erased."""
    return f"{method.upper()} {re.sub(r'{[^}]*}', '{}', path)}"


def shape_of(value: object, *, maps: Iterable[str] = (), at: str = "") -> object:
    """The shape of one JSON-able value; ``maps`` are dotted paths of free-key objects."""
    maps = frozenset(maps)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Mapping):
        if at in maps:
            values = [shape_of(v, maps=maps, at=f"{at}.*") for v in value.values()]
            return (
                {MAP_KEY: _merge_all(values, at=f"{at}.*")}
                if values
                else {MAP_KEY: None}
            )
        return {
            str(k): shape_of(v, maps=maps, at=f"{at}.{k}".lstrip("."))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        items = [shape_of(v, maps=maps, at=f"{at}[]") for v in value]
        return [_merge_all(items, at=f"{at}[]")] if items else []
    raise TypeError(f"{at or 'value'}: {type(value).__name__} is not JSON")


def merge_shapes(a: object, b: object, *, at: str = "") -> object:
    """One shape covering both; raises ShapeMismatch unless they differ only by null."""
    if a is None:  # an empty map's value: nothing seen yet
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            missing = sorted(set(a) ^ set(b))
            raise ShapeMismatch(
                f"{at or 'body'}: keys {missing} present in only one sample"
            )
        return {k: merge_shapes(a[k], b[k], at=f"{at}.{k}".lstrip(".")) for k in a}
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return a or b
        return [merge_shapes(a[0], b[0], at=f"{at}[]")]
    if isinstance(a, str) and isinstance(b, str):
        return _merge_scalars(a, b, at=at)
    raise ShapeMismatch(
        f"{at or 'body'}: {_describe(a)} in one sample, {_describe(b)} in another"
    )


def _merge_all(shapes: list, *, at: str) -> object:
    merged = shapes[0]
    for shape in shapes[1:]:
        merged = merge_shapes(merged, shape, at=at)
    return merged


def _merge_scalars(a: str, b: str, *, at: str) -> str:
    kinds = set(a.split("|")) | set(b.split("|"))
    nullable = "null" in kinds
    kinds.discard("null")
    if len(kinds) > 1:
        raise ShapeMismatch(
            f"{at or 'body'}: {' and '.join(sorted(kinds))} in different samples"
        )
    return "|".join([*sorted(kinds), *(["null"] if nullable else [])])


def _describe(shape: object) -> str:
    if isinstance(shape, dict):
        return "an object"
    if isinstance(shape, list):
        return "a list"
    return str(shape)


def shape_of_samples(samples: Iterable[object], *, maps: Iterable[str] = ()) -> object:
    """The one shape of several samples of a response; raises ShapeMismatch."""
    return _merge_all([shape_of(s, maps=maps) for s in samples], at="")


def compare(recorded: Mapping[str, object], current: Mapping[str, object]) -> list[str]:
    """Every difference between two snapshots, as readable lines; empty when equal."""
    problems = [
        f"shape {n!r} was removed" for n in sorted(set(recorded) - set(current))
    ]
    problems += [
        f"shape {n!r} is not in the snapshot (record it with contract_snapshot --write)"
        for n in sorted(set(current) - set(recorded))
    ]
    for name in sorted(set(recorded) & set(current)):
        problems += _compare(recorded[name], current[name], at=name)
    return problems


def _compare(old: object, new: object, *, at: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        problems = [f"{at}.{k} was removed or renamed" for k in old if k not in new]
        problems += [
            f"{at}.{k} was added (record it with contract_snapshot --write)"
            for k in new
            if k not in old
        ]
        for key in old:
            if key in new:
                problems += _compare(old[key], new[key], at=f"{at}.{key}")
        return problems
    if isinstance(old, list) and isinstance(new, list) and old and new:
        return _compare(old[0], new[0], at=f"{at}[]")
    if old != new:
        return [f"{at} changed type: {_render(old)} -> {_render(new)}"]
    return []


def _render(shape: object) -> str:
    return json.dumps(shape, sort_keys=True)


def dumps(shapes: Mapping[str, object]) -> str:
    """The snapshot file's text: sorted, indented, newline-terminated."""
    return json.dumps(dict(shapes), indent=2, sort_keys=True) + "\n"
