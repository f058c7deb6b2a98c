"""docs/API.md stays true to the server: its routes table is generated."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import URLPattern, URLResolver, get_resolver

from autom8_site.api_docs import DOCS_PATH, END, START, docs_with_table

README = Path(__file__).resolve().parent.parent / "README.md"
UNLISTED = {"/api/v1/schema", "/api/v1/docs/", "/api/v1/redoc/"}


def _url_routes(patterns, prefix="/"):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _url_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _normalised(path: str) -> str:
    return re.sub(r"<[^>]*>|{[^}]*}", "{}", path)


def test_the_routes_table_matches_the_schema():
    out = io.StringIO()

    call_command("api_docs", stdout=out)

    assert "matches the schema" in out.getvalue()


def test_every_api_route_of_the_urlconf_is_in_the_table():
    table = DOCS_PATH.read_text(encoding="utf-8").split(START)[1].split(END)[0]
    listed = {_normalised(path) for path in re.findall(r"\| `([^`]+)` \|", table)}
    served = {
        _normalised(route)
        for route in _url_routes(get_resolver("autom8_site.urls").url_patterns)
        if route.startswith("/api/v1/") and route not in UNLISTED
    }

    assert sorted(served - listed) == []


def test_a_stale_table_fails_the_check(tmp_path, monkeypatch):
    stale = tmp_path / "API.md"
    stale.write_text(
        docs_with_table(DOCS_PATH.read_text(encoding="utf-8"), "| old |"),
        encoding="utf-8",
    )
    monkeypatch.setattr("security.management.commands.api_docs.DOCS_PATH", stale)

    with pytest.raises(CommandError, match="out of date"):
        call_command("api_docs", stdout=io.StringIO())


def test_the_readme_links_the_api_guide():
    assert "(docs/API.md)" in README.read_text(encoding="utf-8")


def _python_block_defining(name: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS_PATH.read_text(), re.DOTALL)
    return next(block for block in blocks if f"def {name}(" in block)


@pytest.mark.django_db
def test_the_integrity_sample_of_the_guide_verifies_a_real_response(
    api_client, settings
):
    namespace: dict = {}
    exec(_python_block_defining("verify"), namespace)  # noqa: S102
    response = api_client.get("/api/v1/info")
    key = settings.RESPONSE_SIGNING_KEY.encode()

    assert namespace["verify"](response.headers, response.content, key) is True
    assert namespace["verify"](response.headers, response.content + b" ", key) is False
