"""HTTP endpoints for contacts: list, create, read, update, delete."""

from django.urls import reverse
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
    parse_contact_list_query,
    parse_contact_payload,
)
from contract.errors import NotFound


def _existing_contact(contact_id: int) -> Contact:
    contact = contact_get(contact_id=contact_id)
    if contact is None:
        raise NotFound("Contact not found")
    return contact


class ContactListView(APIView):
    """List contacts (GET) and create one (POST)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        """A page of contacts, filtered and sorted by the query string."""
        page = contact_list(**parse_contact_list_query(request.query_params))
        body = contact_list_body(
            page.contacts,
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_cursor=page.next_cursor,
        )
        return Response(body)

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

    def get(self, request: Request, contact_id: int) -> Response:
        """The contact, or 404."""
        return Response(contact_to_dict(_existing_contact(contact_id)))

    def put(self, request: Request, contact_id: int) -> Response:
        """Change the fields sent; the others keep their value."""
        return self._update(request, contact_id)

    def patch(self, request: Request, contact_id: int) -> Response:
        """Change the fields sent; the others keep their value."""
        return self._update(request, contact_id)

    def delete(self, request: Request, contact_id: int) -> Response:
        """Delete the contact; 204."""
        contact_delete(_existing_contact(contact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, contact_id: int) -> Response:
        contact = _existing_contact(contact_id)
        changes = parse_contact_payload(request.data, partial=True)
        return Response(contact_to_dict(contact_update(contact, changes=changes)))
