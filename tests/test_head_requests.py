"""HEAD under a real gunicorn: GET's headers, no body, no server warning."""

import httpx
import pytest

from tests.servers import gunicorn_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_log(tmp_path_factory):
    return tmp_path_factory.mktemp("head") / "gunicorn.log"


@pytest.fixture(scope="module")
def head_answers(django_db_setup, server_log):
    """A HEAD and a GET of the same JSON, a 401 and a static file."""
    paths = ("/api/v1/health", "/api/v1/contacts", "/static/admin/css/base.css")
    with gunicorn_server(workers=1, threads=2, log_path=server_log) as base:
        yield {
            path: (httpx.head(base + path), httpx.get(base + path)) for path in paths
        }


def test_head_requests_leave_no_warning_in_the_server_log(head_answers, server_log):
    log = server_log.read_text()

    assert "no-body response" not in log
    assert "gunicorn.http.wsgi" not in log


def test_head_answers_the_length_of_the_get_body(head_answers):
    head, get = head_answers["/api/v1/contacts"]

    assert head.status_code == get.status_code == 401
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))
