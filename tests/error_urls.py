"""A test-only URLconf: the real routes plus views that fail on purpose."""

from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import include, path
from django.views import View
from django_ratelimit.exceptions import Ratelimited
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from contract.errors import Conflict, Invalid
from security.permissions import IsAdminRole

# A message that must never reach a response body.
SECRET_DETAIL = "SELECT * FROM secret_table at /srv/autom8/app.py password=hunter2"


class ApiCrash(APIView):
    """A DRF view that raises an unexpected error."""

    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        raise RuntimeError(SECRET_DETAIL)


def django_crash(request):
    """A plain Django view that raises an unexpected error."""
    raise RuntimeError(SECRET_DETAIL)


BAD_SQL = "SELECT * FROM autom8_no_such_table"


class ApiBadSql(APIView):
    """A DRF view whose SQL is wrong (a bug, not an outage)."""

    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute(BAD_SQL)


def django_bad_sql(request):
    """A plain Django view whose SQL is wrong."""
    with connection.cursor() as cursor:
        cursor.execute(BAD_SQL)


class ApiConflict(APIView):
    """Raises an Autom8Error subclass."""

    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        raise Conflict("Already there")


class ApiInvalid(APIView):
    """Raises Invalid naming a field."""

    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        raise Invalid("phone must be in E.164", field="phone")


class ApiRatelimited(APIView):
    """Raises django-ratelimit's exception, as its decorator does."""

    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        raise Ratelimited()


def django_ratelimited(request):
    """A plain Django view refused by django-ratelimit."""
    raise Ratelimited()


class PostOnly(View):
    """A plain Django view: GET gives Django's own (empty, non-JSON) 405."""

    def post(self, request):
        return HttpResponse("ok")


def streamed(request):
    """A streamed body that is not a file."""
    return StreamingHttpResponse(iter([b"alpha ", b"beta ", b"gamma"]))


class AdminOnly(APIView):
    """Guarded by IsAdminRole."""

    permission_classes = [IsAdminRole]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("test/api-crash", ApiCrash.as_view()),
    path("test/django-crash", django_crash),
    path("test/api-bad-sql", ApiBadSql.as_view()),
    path("test/django-bad-sql", django_bad_sql),
    path("test/conflict", ApiConflict.as_view()),
    path("test/invalid", ApiInvalid.as_view()),
    path("test/api-ratelimited", ApiRatelimited.as_view()),
    path("test/django-ratelimited", django_ratelimited),
    path("test/post-only", PostOnly.as_view()),
    path("test/streamed", streamed),
    path("test/admin-only", AdminOnly.as_view()),
    path("", include("autom8_site.urls")),
]

handler400 = "security.exceptions.bad_request"
handler403 = "security.exceptions.permission_denied"
handler404 = "security.exceptions.page_not_found"
handler500 = "security.exceptions.server_error"
