"""The API docs and the admin, seen by a real browser on a real server.

Headless Chromium loads pages from gunicorn with DEBUG off, so static files
come through whitenoise and every response carries the site's
``Content-Security-Policy``. Without Chromium these tests are skipped,
unless ``AUTOM8_REQUIRE_BROWSER=1`` (CI) makes its absence a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from django.conf import settings

from tests.servers import gunicorn_server

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
    "--enable-logging=stderr",
    "--v=0",
)
CSP = "default-src 'self'"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("AUTOM8_REQUIRE_BROWSER") == "1":
        pytest.fail("Chromium is required here: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)")


def _dump_dom(url: str, profile: Path) -> tuple[str, str]:
    """The DOM after scripts ran, and the browser's console log."""
    done = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout, done.stderr


SWAGGER = "/api/v1/docs/"
REDOC = "/api/v1/redoc/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(scope="module")
def server() -> str:
    """gunicorn with DEBUG off over collected static files."""
    with gunicorn_server(workers=1, threads=4, DEBUG="false") as base:
        yield base


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory) -> Callable[[str], tuple[str, str]]:
    """Loads a path of the server in Chromium, once per module: the DOM after
    scripts ran, and the console log."""
    loaded: dict[str, tuple[str, str]] = {}

    def load(path: str) -> tuple[str, str]:
        if path not in loaded:
            profile = tmp_path_factory.mktemp("chromium")
            loaded[path] = _dump_dom(f"{server}{path}", profile)
        return loaded[path]

    return load


def _policy_violations(console: str) -> list[str]:
    return [line for line in console.splitlines() if "Content Security Policy" in line]


@pytest.mark.parametrize("path", [SWAGGER, REDOC])
def test_docs_page_is_served_under_the_content_security_policy(server, path):
    response = httpx.get(f"{server}{path}", timeout=10)

    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP


@pytest.mark.parametrize("path", [SWAGGER, REDOC, ADMIN_LOGIN])
def test_nothing_on_the_page_is_blocked_by_the_policy(browser, path):
    _dom, console = browser(path)

    assert _policy_violations(console) == []


def test_swagger_ui_renders_every_operation_of_the_schema(server, browser):
    dom, _console = browser(SWAGGER)
    schema = httpx.get(f"{server}/api/v1/schema", timeout=10).json()

    rendered = set(
        re.findall(
            r'class="opblock-summary-path(?:__deprecated)?" data-path="([^"]+)"', dom
        )
    )

    assert "/api/v1/contacts" in rendered
    assert set(schema["paths"]) <= rendered


def test_swagger_ui_shows_the_tasklogs_alias_as_deprecated(browser):
    dom, _console = browser(SWAGGER)

    deprecated = re.findall(
        r'class="opblock-summary-path__deprecated" data-path="([^"]+)"', dom
    )

    assert deprecated == ["/api/v1/tasklogs"]


def test_swagger_icons_are_served_as_static_files(server):
    page = httpx.get(f"{server}{SWAGGER}", timeout=10).text
    css_url = urljoin(
        server, re.findall(r'href="([^"]*autom8_site/swagger_ui[^"]*)"', page)[0]
    )
    css = httpx.get(css_url, timeout=10).text
    icons = [urljoin(css_url, icon) for icon in re.findall(r'url\("?([^")]+)"?\)', css)]

    answers = [httpx.get(icon, timeout=10) for icon in icons]

    assert icons
    assert [(a.status_code, a.headers["content-type"]) for a in answers] == [
        (200, "image/svg+xml")
    ] * len(icons)


def test_redoc_renders_every_operation_of_the_schema(server, browser):
    dom, _console = browser(REDOC)
    schema = httpx.get(f"{server}/api/v1/schema", timeout=10).json()

    rendered = set(re.findall(r'id="operation/([^"]+)"', dom))

    assert {
        operation["operationId"]
        for item in schema["paths"].values()
        for operation in item.values()
    } <= rendered


def test_admin_login_loads_its_stylesheets_through_whitenoise(server):
    page = httpx.get(f"{server}{ADMIN_LOGIN}", timeout=10)
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)

    styles = [httpx.get(f"{server}{href}", timeout=10) for href in hrefs]

    assert hrefs and all(href.startswith(settings.STATIC_URL) for href in hrefs)
    assert [
        (r.status_code, r.headers["content-type"].split(";")[0]) for r in styles
    ] == [(200, "text/css")] * len(hrefs)


def test_admin_login_scripts_are_served_as_javascript(server):
    page = httpx.get(f"{server}{ADMIN_LOGIN}", timeout=10)
    sources = re.findall(r'<script src="([^"]+)"', page.text)

    scripts = [httpx.get(f"{server}{src}", timeout=10) for src in sources]

    assert sources
    assert [
        (r.status_code, "javascript" in r.headers["content-type"]) for r in scripts
    ] == [(200, True)] * len(sources)


def test_admin_login_form_renders_in_the_browser(browser):
    dom, _console = browser(ADMIN_LOGIN)

    assert 'id="login-form"' in dom
