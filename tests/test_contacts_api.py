"""The contacts API end to end: every route, status, header and bad input."""

import pytest
from django.db import connection

from contacts.models import Contact
from contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/contacts"
# Every query parameter the list answers to.
LIST_PARAMS = ["name", "phone", "email", "sort", "order", "limit", "offset", "cursor"]
ENVELOPE_KEYS = {"error", "message"}


def detail_url(contact_id: int | str) -> str:
    return f"{LIST_URL}/{contact_id}"


def raw_json(client, method: str, url: str, body: str):
    """Send ``body`` as is (for malformed or unusual JSON)."""
    return getattr(client, method)(url, data=body, content_type="application/json")


def assert_error(response, status: int, field: str | None = None) -> dict:
    """The response is the §1 envelope with ``status``, naming ``field``."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) >= ENVELOPE_KEYS
    if field is not None:
        assert field in body["details"]
        assert field.lower() in body["message"].lower()
    return body


VALID = {"name": "Amina Otieno", "phone": "+254712345678", "email": "amina@example.com"}


class TestContactListGet:
    def test_anonymous_is_unauthorized(self, api_client):
        response = api_client.get(LIST_URL)

        assert_error(response, 401)

    def test_listing_has_contacts_and_meta(self, user_client):
        contact = ContactFactory(name="Amina Otieno", phone="+254712345678", email=None)

        response = user_client.get(LIST_URL)

        assert response.status_code == 200
        assert response.json()["contacts"] == [
            {
                "id": contact.pk,
                "name": "Amina Otieno",
                "phone": "+254712345678",
                "email": None,
                "created_at": contact.created_at.isoformat().replace("+00:00", "Z"),
                "updated_at": contact.updated_at.isoformat().replace("+00:00", "Z"),
            }
        ]
        assert response.json()["meta"] == {
            "total": 1,
            "limit": 100,
            "offset": 0,
            "next_cursor": None,
            "next": None,
        }

    def test_admin_may_list_too(self, admin_client):
        assert admin_client.get(LIST_URL).status_code == 200

    def test_limit_and_offset_page_through(self, user_client):
        for name in ("Ann", "Ben", "Cat"):
            ContactFactory(name=name)

        response = user_client.get(LIST_URL, {"limit": 1, "offset": 1})

        assert [c["name"] for c in response.json()["contacts"]] == ["Ben"]
        assert response.json()["meta"]["total"] == 3

    def test_sort_and_order(self, user_client):
        for name in ("Ann", "Cat", "Ben"):
            ContactFactory(name=name)

        response = user_client.get(LIST_URL, {"sort": "name", "order": "desc"})

        assert [c["name"] for c in response.json()["contacts"]] == ["Cat", "Ben", "Ann"]

    def test_filters_by_name_phone_and_email(self, user_client):
        ContactFactory(
            name="Amina Otieno", phone="+254712345678", email="amina@example.com"
        )
        ContactFactory(name="Amina Other")

        response = user_client.get(
            LIST_URL,
            {"name": "amina", "phone": "+254712345678", "email": "AMINA@example.com"},
        )

        assert [c["name"] for c in response.json()["contacts"]] == ["Amina Otieno"]

    def test_phone_filter_with_an_unencoded_plus(self, user_client):
        ContactFactory(name="Amina", phone="+254712345678")

        response = user_client.get(f"{LIST_URL}?phone=+254712345678")

        assert [c["name"] for c in response.json()["contacts"]] == ["Amina"]

    def test_cursor_continues_the_listing(self, user_client):
        for name in ("Ann", "Ben", "Cat"):
            ContactFactory(name=name)
        first = user_client.get(LIST_URL, {"limit": 2}).json()

        second = user_client.get(
            LIST_URL, {"limit": 2, "cursor": first["meta"]["next_cursor"]}
        )

        assert [c["name"] for c in second.json()["contacts"]] == ["Cat"]
        assert second.json()["meta"]["next_cursor"] is None

    def test_next_page_is_linked_with_its_absolute_url(self, user_client):
        for name in ("Ann", "Ben", "Cat"):
            ContactFactory(name=name)

        response = user_client.get(LIST_URL, {"limit": 1, "name": "a"})

        url = response.json()["meta"]["next"]
        assert url.startswith("http://testserver/api/v1/contacts?")
        assert response["Link"] == f'<{url}>; rel="next"'

    def test_following_the_next_url_gives_the_next_page(self, user_client):
        for name in ("Ann", "Ben", "Cat"):
            ContactFactory(name=name)
        first = user_client.get(LIST_URL, {"limit": 2, "offset": 0}).json()

        second = user_client.get(first["meta"]["next"]).json()

        assert [c["name"] for c in second["contacts"]] == ["Cat"]

    def test_last_page_has_no_next_url_and_no_link(self, user_client):
        ContactFactory()

        response = user_client.get(LIST_URL)

        assert response.json()["meta"]["next"] is None
        assert not response.has_header("Link")

    def test_unknown_parameters_are_ignored(self, user_client):
        response = user_client.get(LIST_URL, {"page": "7", "fields": "all"})

        assert response.status_code == 200

    @pytest.mark.parametrize("page_size", [1, 50])
    def test_query_count_does_not_grow_with_the_page(
        self, user_client, django_assert_num_queries, settings, page_size
    ):
        # Embedded rate-limit counters live in the database; leave them out.
        settings.RATELIMIT_ENABLE = False
        ContactFactory.create_batch(60)

        # The user behind the token, its revocation check, one count, one page.
        with django_assert_num_queries(4):
            response = user_client.get(LIST_URL, {"limit": page_size})

        assert len(response.json()["contacts"]) == page_size

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": "0"}, "limit"),
            ({"limit": "1001"}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"limit": ""}, "limit"),
            ({"offset": "-1"}, "offset"),
            ({"offset": "1e3"}, "offset"),
            ({"sort": "phone"}, "sort"),
            ({"order": "sideways"}, "order"),
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"phone": "0712"}, "phone"),
            ({"email": "nope"}, "email"),
        ],
    )
    def test_bad_parameter_is_a_bad_request_naming_it(self, user_client, params, field):
        response = user_client.get(LIST_URL, params)

        assert_error(response, 400, field)

    @pytest.mark.parametrize("param", LIST_PARAMS)
    def test_nul_byte_in_a_parameter_is_a_bad_request(self, user_client, param):
        response = user_client.get(f"{LIST_URL}?{param}=a%00b")

        assert_error(response, 400, param)

    @pytest.mark.parametrize("param", LIST_PARAMS)
    def test_empty_parameter_is_a_bad_request_naming_it(self, user_client, param):
        response = user_client.get(f"{LIST_URL}?{param}=")

        body = assert_error(response, 400, param)
        assert body["message"] == f"{param} must not be empty"


class TestContactListPost:
    def test_created_contact_is_returned_with_201(self, user_client):
        response = user_client.post(LIST_URL, VALID, format="json")

        body = response.json()
        assert response.status_code == 201, body
        assert {k: body[k] for k in ("name", "phone", "email")} == VALID
        assert body["created_at"].endswith("Z")

    def test_new_contact_was_created_and_updated_at_one_moment(self, user_client):
        body = user_client.post(LIST_URL, VALID, format="json").json()

        assert body["created_at"] == body["updated_at"]

    def test_invisible_formatting_in_the_name_is_a_bad_request(self, user_client):
        payload = {**VALID, "name": "Amina\u202eonitO"}

        response = user_client.post(LIST_URL, payload, format="json")

        assert_error(response, 400, "name")
        assert Contact.objects.count() == 0

    def test_location_points_at_the_new_contact(self, user_client):
        response = user_client.post(LIST_URL, VALID, format="json")

        assert response["Location"] == f"/api/v1/contacts/{response.json()['id']}"

    def test_location_can_be_read_back(self, user_client):
        created = user_client.post(LIST_URL, VALID, format="json")

        response = user_client.get(created["Location"])

        assert response.json() == created.json()

    def test_admin_may_create_too(self, admin_client):
        assert admin_client.post(LIST_URL, VALID, format="json").status_code == 201

    def test_anonymous_is_unauthorized(self, api_client):
        response = api_client.post(LIST_URL, VALID, format="json")

        assert_error(response, 401)
        assert Contact.objects.count() == 0

    def test_values_are_normalised(self, user_client):
        payload = {
            "name": "  O'Brien & Sons ",
            "phone": "+254 712-345-678",
            "email": "A@EX.COM",
        }

        body = user_client.post(LIST_URL, payload, format="json").json()

        assert (body["name"], body["phone"], body["email"]) == (
            "O'Brien & Sons",
            "+254712345678",
            "A@ex.com",
        )

    def test_email_is_optional(self, user_client):
        response = user_client.post(
            LIST_URL, {"name": "Amina", "phone": "+254712345678"}, format="json"
        )

        assert response.json()["email"] is None

    def test_national_phone_is_accepted_with_a_default_region(
        self, user_client, settings
    ):
        settings.DEFAULT_PHONE_REGION = "KE"

        response = user_client.post(
            LIST_URL, {**VALID, "phone": "0712 345 678"}, format="json"
        )

        assert response.json()["phone"] == "+254712345678"

    def test_national_phone_is_rejected_without_a_default_region(
        self, user_client, settings
    ):
        settings.DEFAULT_PHONE_REGION = None

        response = user_client.post(
            LIST_URL, {**VALID, "phone": "0712 345 678"}, format="json"
        )

        body = assert_error(response, 400, "phone")
        assert (
            body["message"]
            == "Phone must be in international format, e.g. +254712345678"
        )

    def test_duplicate_phone_is_a_conflict(self, user_client):
        ContactFactory(phone="+254712345678")

        response = user_client.post(LIST_URL, VALID, format="json")

        assert response.status_code == 409
        assert response.json() == {
            "error": "Conflict",
            "message": "A contact with this phone number already exists",
        }

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"phone": "+254712345678"}, "name"),
            ({"name": "Amina"}, "phone"),
            ({**VALID, "name": "A"}, "name"),
            ({**VALID, "name": "a" * 101}, "name"),
            ({**VALID, "name": "a" * 100_000}, "name"),
            ({**VALID, "name": "<b>Amina</b>"}, "name"),
            ({**VALID, "name": "Amina\nOtieno"}, "name"),
            ({**VALID, "name": "Amina\x00"}, "name"),
            ({**VALID, "phone": "+2547123\x00"}, "phone"),
            ({**VALID, "email": "amina@exa\x00mple.com"}, "email"),
            ({**VALID, "phone": "12345"}, "phone"),
            ({**VALID, "email": "amina"}, "email"),
            ({**VALID, "name": 12345}, "name"),
            ({**VALID, "phone": 254712345678}, "phone"),
            ({**VALID, "email": ["amina@example.com"]}, "email"),
            ({**VALID, "name": None}, "name"),
        ],
    )
    def test_invalid_field_is_a_bad_request_naming_it(
        self, user_client, payload, field
    ):
        response = user_client.post(LIST_URL, payload, format="json")

        assert_error(response, 400, field)
        assert Contact.objects.count() == 0

    def test_lone_surrogate_in_a_string_is_a_bad_request(self, user_client):
        body = '{"name": "Ami\\ud800na", "phone": "+254712345678"}'

        response = raw_json(user_client, "post", LIST_URL, body)

        assert_error(response, 400, "name")

    @pytest.mark.parametrize(
        "body", ['{"name": "Amina", ', "not json", "", "[1, 2]", '"text"', "null"]
    )
    def test_malformed_or_non_object_body_is_a_bad_request(self, user_client, body):
        response = raw_json(user_client, "post", LIST_URL, body)

        assert_error(response, 400)

    def test_form_encoded_body_is_unsupported(self, user_client):
        response = user_client.post(
            LIST_URL, "name=Amina", content_type="application/x-www-form-urlencoded"
        )

        assert_error(response, 415)


class TestContactDetailGet:
    def test_existing_contact(self, user_client):
        contact = ContactFactory(name="Amina Otieno", email="amina@example.com")

        response = user_client.get(detail_url(contact.pk))

        assert response.status_code == 200
        assert (response.json()["id"], response.json()["email"]) == (
            contact.pk,
            "amina@example.com",
        )

    def test_missing_contact_is_not_found(self, user_client):
        response = user_client.get(detail_url(404))

        assert assert_error(response, 404)["message"] == "Contact not found"

    @pytest.mark.parametrize("raw_id", ["-1", "abc", "1.5", "%D9%A5", "1%20"])
    def test_id_that_is_not_a_whole_number_is_not_found_alike(
        self, user_client, raw_id
    ):
        response = user_client.get(f"{LIST_URL}/{raw_id}")

        assert assert_error(response, 404)["message"] == "Contact not found"

    def test_id_beyond_the_integer_range_is_not_found(self, user_client):
        response = user_client.get(detail_url(10**30))

        assert_error(response, 404)

    def test_trailing_slash_is_not_a_route(self, user_client):
        contact = ContactFactory()

        response = user_client.get(detail_url(contact.pk) + "/")

        assert_error(response, 404)

    def test_anonymous_is_unauthorized(self, api_client):
        contact = ContactFactory()

        assert_error(api_client.get(detail_url(contact.pk)), 401)


class _UpdateCases:
    """The same behaviour for PUT and PATCH: only the fields sent change."""

    method = ""

    def send(self, client, contact_id, payload):
        return getattr(client, self.method)(
            detail_url(contact_id), payload, format="json"
        )

    def test_only_the_fields_sent_change(self, user_client):
        contact = ContactFactory(
            name="Amina", phone="+254712345678", email="a@example.com"
        )

        response = self.send(user_client, contact.pk, {"name": "Amina Otieno"})

        body = response.json()
        assert response.status_code == 200, body
        assert (body["name"], body["phone"], body["email"]) == (
            "Amina Otieno",
            "+254712345678",
            "a@example.com",
        )

    def test_reads_reflect_the_write_at_once(self, user_client):
        contact = ContactFactory(phone="+254712345678")

        self.send(user_client, contact.pk, {"phone": "+254 700 000 001"})

        assert (
            user_client.get(detail_url(contact.pk)).json()["phone"] == "+254700000001"
        )

    def test_null_email_clears_it(self, user_client):
        contact = ContactFactory(email="a@example.com")

        response = self.send(user_client, contact.pk, {"email": None})

        assert response.json()["email"] is None

    def test_admin_may_update_too(self, admin_client):
        contact = ContactFactory()

        assert (
            self.send(admin_client, contact.pk, {"name": "New Name"}).status_code == 200
        )

    def test_missing_contact_is_not_found(self, user_client):
        assert_error(self.send(user_client, 404, {"name": "Amina"}), 404)

    def test_negative_id_is_not_found_alike(self, user_client):
        response = self.send(user_client, "-1", {"name": "Amina"})

        assert assert_error(response, 404)["message"] == "Contact not found"

    def test_invalid_field_is_a_bad_request(self, user_client):
        contact = ContactFactory()

        response = self.send(user_client, contact.pk, {"email": "nope"})

        assert_error(response, 400, "email")

    def test_nul_byte_is_a_bad_request(self, user_client):
        contact = ContactFactory()

        response = self.send(user_client, contact.pk, {"name": "Ami\x00na"})

        assert_error(response, 400, "name")

    def test_wrong_type_is_a_bad_request(self, user_client):
        contact = ContactFactory()

        response = self.send(user_client, contact.pk, {"name": ["Amina"]})

        assert_error(response, 400, "name")

    def test_malformed_json_is_a_bad_request(self, user_client):
        contact = ContactFactory()

        response = raw_json(
            user_client, self.method, detail_url(contact.pk), '{"name": '
        )

        assert_error(response, 400)

    def test_another_contacts_phone_is_a_conflict(self, user_client):
        ContactFactory(phone="+254712345678")
        contact = ContactFactory(phone="+254700000001")

        response = self.send(user_client, contact.pk, {"phone": "+254712345678"})

        body = assert_error(response, 409)
        assert body["message"] == "A contact with this phone number already exists"

    def test_anonymous_is_unauthorized(self, api_client):
        contact = ContactFactory(name="Amina")

        assert_error(self.send(api_client, contact.pk, {"name": "Eve"}), 401)
        assert Contact.objects.get(pk=contact.pk).name == "Amina"


class TestContactDetailPut(_UpdateCases):
    method = "put"


class TestContactDetailPatch(_UpdateCases):
    method = "patch"


class TestContactDetailDelete:
    def test_contact_is_deleted_with_204(self, user_client):
        contact = ContactFactory()

        response = user_client.delete(detail_url(contact.pk))

        assert response.status_code == 204
        assert response.content == b""

    def test_deleted_contact_is_not_found_afterwards(self, user_client):
        contact = ContactFactory()
        user_client.delete(detail_url(contact.pk))

        assert_error(user_client.get(detail_url(contact.pk)), 404)

    def test_admin_may_delete_too(self, admin_client):
        contact = ContactFactory()

        assert admin_client.delete(detail_url(contact.pk)).status_code == 204

    def test_missing_contact_is_not_found(self, user_client):
        assert_error(user_client.delete(detail_url(404)), 404)

    def test_negative_id_is_not_found_alike(self, user_client):
        response = user_client.delete(detail_url("-1"))

        assert assert_error(response, 404)["message"] == "Contact not found"

    def test_anonymous_is_unauthorized(self, api_client):
        contact = ContactFactory()

        assert_error(api_client.delete(detail_url(contact.pk)), 401)
        assert Contact.objects.filter(pk=contact.pk).exists()


class TestContactsMethods:
    def test_list_route_rejects_delete(self, user_client):
        assert_error(user_client.delete(LIST_URL), 405)

    def test_detail_route_rejects_post(self, user_client):
        contact = ContactFactory()

        assert_error(
            user_client.post(detail_url(contact.pk), VALID, format="json"), 405
        )


class TestPiiAtRest:
    def test_no_column_holds_phone_digits_or_email_text(self, user_client):
        payload = {
            "name": "Amina Otieno",
            "phone": "+254798765432",
            "email": "amina.otieno@savannah-mail.test",
        }
        user_client.post(LIST_URL, payload, format="json")

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {Contact._meta.db_table}")  # noqa: S608
            stored = " ".join(str(value) for row in cursor.fetchall() for value in row)

        assert "Amina Otieno" in stored
        for secret in (
            "798765432",
            "254798765",
            "amina.otieno",
            "savannah",
            "mail.test",
        ):
            assert secret not in stored
