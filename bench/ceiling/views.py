"""Fixed answers in the v1 shapes, without a database or authentication."""

from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

_MOMENT = "2026-01-14T10:00:00.123456Z"


def _contact(n: int) -> dict:
    return {
        "id": n,
        "name": f"Bench Contact {n:05d}",
        "phone": f"+25470{n:07d}",
        "email": f"bench{n}@example.com",
        "created_at": _MOMENT,
        "updated_at": _MOMENT,
    }


CONTACTS = [_contact(n) for n in range(1, 101)]
LIST_BODY = {
    "contacts": CONTACTS,
    "meta": {
        "total": 100,
        "limit": 100,
        "offset": 0,
        "next_cursor": None,
        "next": None,
    },
}


class FixedContactListView(APIView):
    """GET: a fixed 100-contact page; POST: parse the body, a fixed 201."""

    def get(self, request: Request) -> Response:
        return Response(LIST_BODY)

    def post(self, request: Request) -> Response:
        request.data  # noqa: B018 - the parse is the work being measured
        return Response(
            CONTACTS[0],
            status=status.HTTP_201_CREATED,
            headers={"Location": "/api/v1/contacts/1"},
        )


class FixedContactView(APIView):
    """A fixed single contact, whatever the id."""

    def get(self, request: Request, contact_id: str) -> Response:
        return Response(CONTACTS[0])


def status_view(request: HttpRequest) -> JsonResponse:
    """A plain Django view: ``{"status": "ok"}``."""
    return JsonResponse({"status": "ok"})
