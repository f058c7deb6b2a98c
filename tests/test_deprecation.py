"""The deprecation decorator's four channels (API_CONTRACT.md §7)."""

from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse
from django.urls import path
from django.utils.http import parse_http_date
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from security.deprecation import deprecated, deprecated_routes


@deprecated(sunset=date(2027, 6, 30), successor="/new", deprecated_on=date(2026, 1, 1))
class OldView(APIView):
    """A test-only deprecated route."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    def get(self, request):
        return Response({"ok": True})


class NewView(APIView):
    """Its successor, not deprecated."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("old", OldView.as_view()),
    path("new", NewView.as_view()),
]

THIS_URLCONF = "tests.test_deprecation"
URLS = pytest.mark.urls(THIS_URLCONF)


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@URLS
def test_deprecation_header_is_the_unix_time_of_the_deprecation_date(client):
    response = client.get("/old")

    assert response.status_code == 200
    assert response["Deprecation"] == "@1767225600"


@URLS
def test_sunset_header_is_an_http_date(client):
    response = client.get("/old")

    assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"


@URLS
def test_link_header_names_the_successor_version(client):
    response = client.get("/old")

    assert response["Link"] == '</new>; rel="successor-version"'


@URLS
def test_error_responses_of_a_deprecated_route_carry_the_headers_too(client):
    response = client.post("/old", {}, format="json")

    assert response.status_code == 405
    assert response["Deprecation"] == "@1767225600"


@URLS
def test_a_route_that_is_not_deprecated_has_no_deprecation_headers(client):
    response = client.get("/new")

    assert "Deprecation" not in response
    assert "Sunset" not in response


@URLS
def test_each_call_logs_a_warning_with_route_and_ip(client, caplog):
    caplog.set_level("WARNING", logger="autom8.deprecation")

    client.get("/old", REMOTE_ADDR="203.0.113.7")

    [record] = [r for r in caplog.records if r.name == "autom8.deprecation"]
    assert record.levelname == "WARNING"
    assert record.route == "/old"
    assert record.ip == "203.0.113.7"
    assert "/old" in record.getMessage() and "203.0.113.7" in record.getMessage()


@URLS
def test_the_warning_names_the_client_behind_a_trusted_proxy(client, caplog, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    caplog.set_level("WARNING", logger="autom8.deprecation")

    client.get("/old", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4")

    [record] = [r for r in caplog.records if r.name == "autom8.deprecation"]
    assert record.ip == "198.51.100.4"


@URLS
@pytest.mark.django_db
def test_the_warning_names_the_authenticated_user(client, caplog, user):
    caplog.set_level("WARNING", logger="autom8.deprecation")
    client.force_authenticate(user)

    client.get("/old")

    [record] = [r for r in caplog.records if r.name == "autom8.deprecation"]
    assert record.user == user.username
    assert f"user {user.username}" in record.getMessage()


def test_registry_lists_the_mounted_route_with_its_method_and_dates():
    [route] = deprecated_routes(THIS_URLCONF)

    assert (route.methods, route.path) == (("GET",), "/old")
    assert route.deprecation.sunset == date(2027, 6, 30)
    assert route.deprecation.successor == "/new"


def test_schema_marks_the_operation_deprecated():
    schema = SchemaGenerator(urlconf=THIS_URLCONF).get_schema(request=None, public=True)

    assert schema["paths"]["/old"]["get"]["deprecated"] is True
    assert "deprecated" not in schema["paths"]["/new"]["get"]


def test_a_sunset_before_the_deprecation_date_is_refused_at_decoration():
    with pytest.raises(ImproperlyConfigured, match="before the deprecation date"):
        deprecated(
            sunset=date(2026, 1, 1), successor="/new", deprecated_on=date(2026, 1, 2)
        )


def test_a_sunset_on_the_deprecation_date_is_accepted():
    decorate = deprecated(
        sunset=date(2026, 1, 1), successor="/n", deprecated_on=date(2026, 1, 1)
    )

    assert callable(decorate)


def test_a_view_function_is_refused():
    decorate = deprecated(
        sunset=date(2027, 1, 1), successor="/n", deprecated_on=date(2026, 1, 1)
    )

    with pytest.raises(TypeError):
        decorate(lambda request: JsonResponse({}))


@pytest.mark.django_db
class TestTaskLogsAlias:
    """The first deprecated route, ``/api/v1/tasklogs``, on all four channels."""

    def test_answers_like_its_successor(self, user_client):
        old = user_client.get("/api/v1/tasklogs?limit=5")
        new = user_client.get("/api/v1/task_logs?limit=5")

        assert old.status_code == new.status_code == 200
        assert old.json() == new.json()

    def test_carries_the_deprecation_headers(self, user_client):
        response = user_client.get("/api/v1/tasklogs")

        assert response["Deprecation"].startswith("@")
        assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
        assert response["Link"] == '</api/v1/task_logs>; rel="successor-version"'

    def test_the_deprecation_date_is_not_after_the_sunset(self, user_client):
        response = user_client.get("/api/v1/tasklogs")

        deprecated_at = int(response["Deprecation"][1:])
        assert deprecated_at <= parse_http_date(response["Sunset"])

    def test_the_successor_has_no_deprecation_headers(self, user_client):
        response = user_client.get("/api/v1/task_logs")

        assert "Deprecation" not in response

    def test_a_refused_call_carries_the_headers_too(self, api_client):
        response = api_client.get("/api/v1/tasklogs")

        assert response.status_code == 401
        assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"

    def test_each_call_is_logged_with_the_user(self, user_client, user, caplog):
        caplog.set_level("WARNING", logger="autom8.deprecation")

        user_client.get("/api/v1/tasklogs")

        [record] = [r for r in caplog.records if r.name == "autom8.deprecation"]
        assert (record.route, record.user) == ("/api/v1/tasklogs", user.username)

    def test_is_listed_in_info_notices(self, api_client):
        notices = api_client.get("/api/v1/info").json()["notices"]

        assert notices == [
            "GET /api/v1/tasklogs is deprecated; use /api/v1/task_logs. Sunset: 2027-06-30."
        ]

    def test_is_marked_deprecated_in_the_schema(self):
        paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

        assert paths["/api/v1/tasklogs"]["get"]["deprecated"] is True
        assert "deprecated" not in paths["/api/v1/task_logs"]["get"]
