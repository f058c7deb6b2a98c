"""The routes table of docs/API.md, generated from the OpenAPI schema.

The table sits between two marker lines; ``python manage.py api_docs
--write`` rewrites it and the check (the default, run by the tests) fails
when it no longer matches the routes the server answers.
"""

from __future__ import annotations

from pathlib import Path

from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import AllowAny

from autom8_site.openapi import view_class
from security.permissions import IsAdminRole

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "API.md"
START = "<!-- routes:start (generated: python manage.py api_docs --write) -->"
END = "<!-- routes:end -->"
_METHOD_ORDER = ("get", "post", "put", "patch", "delete")


def routes_table() -> str:
    """The Markdown table of every documented operation."""
    schema = SchemaGenerator(urlconf="autom8_site.urls").get_schema(
        request=None, public=True
    )
    rows = [
        "| method | path | who | success | summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    for path, item in schema["paths"].items():
        who = _who(view_class(path))
        for method in sorted(item, key=_METHOD_ORDER.index):
            operation = item[method]
            success = next(code for code in operation["responses"] if code[0] == "2")
            summary = str(operation["summary"])
            if operation.get("deprecated"):
                summary += " (deprecated)"
            rows.append(
                f"| {method.upper()} | `{path}` | {who} | {success} | {summary} |"
            )
    return "\n".join(rows)


def _who(view) -> str:
    permissions = view.permission_classes if view is not None else []
    if any(permission is AllowAny for permission in permissions):
        return "anyone"
    if any(permission is IsAdminRole for permission in permissions):
        return "admin"
    return "user"


def docs_with_table(text: str, table: str) -> str:
    """``text`` with the part between the markers replaced by ``table``."""
    head, start, rest = text.partition(START)
    _old, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"{DOCS_PATH.name} lacks the routes markers")
    return f"{head}{START}\n{table}\n{END}{tail}"
