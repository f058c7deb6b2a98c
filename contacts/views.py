"""HTTP endpoints for contacts: list, create, read, update, delete."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.models import Contact
from contacts.selectors import contact_get, contact_list
from contacts.services import contact_create, contact_delete, contact_update
from contract.contacts import (
    contact_list_body,
    contact_to_dict,
    parse_contact_id,
    parse_contact_list_query,
    parse_contact_payload,
)
from contract.errors import NotFound
from security.cache.pages import cached_page
from security.paging import next_page_headers, next_page_url
from security.schema import extend_schema

_LIST_QUERY = [
    OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 1000, default 100"),
    OpenApiParameter("offset", OpenApiTypes.INT, description="0 or more, default 0"),
    OpenApiParameter(
        "sort", OpenApiTypes.STR, enum=["id", "name", "created_at", "updated_at"]
    ),
    OpenApiParameter("order", OpenApiTypes.STR, enum=["asc", "desc"]),
    OpenApiParameter(
        "name", OpenApiTypes.STR, description="case-insensitive substring"
    ),
    OpenApiParameter(
        "phone", OpenApiTypes.STR, description="exact, after normalisation"
    ),
    OpenApiParameter("email", OpenApiTypes.STR, description="exact, case-insensitive"),
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, description="meta.next_cursor of a page"
    ),
]


# Request and response bodies are documented by the autom8_site.openapi
# hook (REQUEST_BODIES and contract/snapshot.json).
_CONTACT_ID = OpenApiParameter(
    "contact_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Contact id"
)


def _existing_contact(raw_id: str) -> Contact:
    contact_id = parse_contact_id(raw_id)
    contact = None if contact_id is None else contact_get(contact_id=contact_id)
    if contact is None:
        raise NotFound("Contact not found")
    return contact


class ContactListView(APIView):
    """List contacts (GET) and create one (POST)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="contacts_list",
        parameters=_LIST_QUERY,
        responses={200: OpenApiTypes.OBJECT},
    )
    @cached_page("contacts")
    def get(self, request: Request) -> Response:
        """A page of contacts, filtered and sorted by the query string."""
        page = contact_list(**parse_contact_list_query(request.query_params))
        next_url = next_page_url(request, page.next_cursor)
        body = contact_list_body(
            page.contacts,
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_cursor=page.next_cursor,
            next_url=next_url,
        )
        return Response(body, headers=next_page_headers(next_url))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        """Create a contact; 201 with its Location."""
        contact = contact_create(**parse_contact_payload(request.data, partial=False))
        location = reverse("contacts:detail", kwargs={"contact_id": contact.pk})
        return Response(
            contact_to_dict(contact),
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


class ContactDetailView(APIView):
    """Read (GET), change (PUT, PATCH: only the fields sent) or delete one contact."""

    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[_CONTACT_ID], responses={200: OpenApiTypes.OBJECT})
    @cached_page("contacts")
    def get(self, request: Request, contact_id: str) -> Response:
        """The contact, or 404."""
        return Response(contact_to_dict(_existing_contact(contact_id)))

    @extend_schema(
        parameters=[_CONTACT_ID],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request: Request, contact_id: str) -> Response:
        """Change the fields sent; the others keep their value."""
        return self._update(request, contact_id)

    @extend_schema(
        parameters=[_CONTACT_ID],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def patch(self, request: Request, contact_id: str) -> Response:
        """Change the fields sent; the others keep their value."""
        return self._update(request, contact_id)

    @extend_schema(parameters=[_CONTACT_ID], responses={204: None})
    def delete(self, request: Request, contact_id: str) -> Response:
        """Delete the contact; 204."""
        contact_delete(_existing_contact(contact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, contact_id: str) -> Response:
        contact = _existing_contact(contact_id)
        changes = parse_contact_payload(request.data, partial=True)
        return Response(contact_to_dict(contact_update(contact, changes=changes)))
