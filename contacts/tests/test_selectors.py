"""Reads of contacts: one contact, filtered, sorted and paginated listings."""

import pytest
from django.core import signing

from contacts.models import CONTACT_SORT_FIELDS, Contact
from contacts.selectors import (
    CURSOR_SALT,
    contact_get,
    contact_list,
    contact_phone_taken,
    contact_search_q,
)
from contacts.tests.factories import ContactFactory
from contract.errors import Invalid

pytestmark = pytest.mark.django_db


def _names(page) -> list[str]:
    return [contact.name for contact in page.contacts]


def _walk(**params) -> list[int]:
    """Ids of every contact, following next_cursor page after page."""
    ids, cursor = [], None
    while True:
        page = contact_list(cursor=cursor, **params)
        ids.extend(contact.pk for contact in page.contacts)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


class TestContactGet:
    def test_existing_contact_is_returned(self):
        contact = ContactFactory()

        assert contact_get(contact_id=contact.pk) == contact

    def test_missing_contact_is_none(self):
        assert contact_get(contact_id=404) is None


class TestContactList:
    def test_default_order_is_name_then_id(self):
        ContactFactory(name="Cyd")
        first_bea = ContactFactory(name="Bea")
        second_bea = ContactFactory(name="Bea")

        page = contact_list()

        assert [c.pk for c in page.contacts][:2] == [first_bea.pk, second_bea.pk]
        assert _names(page) == ["Bea", "Bea", "Cyd"]

    def test_limit_and_offset_select_a_window(self):
        for name in ("Ann", "Ben", "Cat", "Dan"):
            ContactFactory(name=name)

        page = contact_list(limit=2, offset=1)

        assert _names(page) == ["Ben", "Cat"]
        assert (page.total, page.limit, page.offset) == (4, 2, 1)

    def test_default_limit_is_one_hundred(self):
        assert contact_list().limit == 100

    def test_sort_descending_by_name(self):
        for name in ("Ann", "Cat", "Ben"):
            ContactFactory(name=name)

        assert _names(contact_list(sort="name", order="desc")) == ["Cat", "Ben", "Ann"]

    def test_sort_by_created_at(self):
        first, second = ContactFactory(name="Zed"), ContactFactory(name="Amy")

        page = contact_list(sort="created_at")

        assert [c.pk for c in page.contacts] == [first.pk, second.pk]

    def test_sort_by_id_descending(self):
        first, second = ContactFactory(), ContactFactory()

        page = contact_list(sort="id", order="desc")

        assert [c.pk for c in page.contacts] == [second.pk, first.pk]

    def test_name_filter_is_a_case_insensitive_substring(self):
        ContactFactory(name="Amina Otieno")
        ContactFactory(name="Brian Kip")

        assert _names(contact_list(name="OTIE")) == ["Amina Otieno"]

    def test_phone_filter_matches_after_normalisation(self):
        ContactFactory(name="Amina", phone="+254712345678")
        ContactFactory(name="Brian")

        assert _names(contact_list(phone="+254 712 345 678")) == ["Amina"]

    def test_email_filter_ignores_letter_case(self):
        ContactFactory(name="Amina", email="amina@example.com")
        ContactFactory(name="Brian")

        assert _names(contact_list(email="AMINA@Example.com")) == ["Amina"]

    def test_total_counts_every_match_not_the_page(self):
        ContactFactory.create_batch(3, name="Same Name")

        assert contact_list(name="same", limit=1).total == 3

    def test_next_cursor_is_none_on_the_last_page(self):
        ContactFactory.create_batch(2)

        assert contact_list(limit=2).next_cursor is None

    def test_next_cursor_is_given_when_more_remain(self):
        ContactFactory.create_batch(3)

        assert contact_list(limit=2).next_cursor is not None

    @pytest.mark.parametrize("sort", CONTACT_SORT_FIELDS)
    @pytest.mark.parametrize("order", ["asc", "desc"])
    def test_cursor_walk_visits_every_contact_once_in_order(self, sort, order):
        for name in ("Bea", "Ann", "Bea", "Cyd", "Ann", "Bea", "Dee"):
            ContactFactory(name=name)
        expected = list(contact_list(sort=sort, order=order).contacts)

        ids = _walk(sort=sort, order=order, limit=2)

        assert ids == [c.pk for c in expected]

    def test_cursor_walk_keeps_the_filters(self):
        for name in ("Ann A", "Bob", "Ann B", "Ann C"):
            ContactFactory(name=name)

        ids = _walk(name="ann", limit=1)

        assert len(ids) == 3

    def test_cursor_carries_sort_and_order(self):
        for name in ("Ann", "Ben", "Cat"):
            ContactFactory(name=name)
        cursor = contact_list(sort="name", order="desc", limit=1).next_cursor

        assert _names(contact_list(cursor=cursor, limit=5)) == ["Ben", "Ann"]


class TestContactListRejects:
    @pytest.mark.parametrize("limit", [0, -1, 1001])
    def test_limit_out_of_range(self, limit):
        with pytest.raises(Invalid) as caught:
            contact_list(limit=limit)

        assert caught.value.field == "limit"

    def test_negative_offset(self):
        with pytest.raises(Invalid) as caught:
            contact_list(offset=-1)

        assert caught.value.field == "offset"

    @pytest.mark.parametrize("sort", ["phone", "phone_index", "NAME", "-name", ""])
    def test_unknown_sort(self, sort):
        with pytest.raises(Invalid) as caught:
            contact_list(sort=sort)

        assert caught.value.field == "sort"

    @pytest.mark.parametrize("order", ["up", ""])
    def test_unknown_order(self, order):
        with pytest.raises(Invalid) as caught:
            contact_list(order=order)

        assert caught.value.field == "order"

    def test_unparsable_phone_filter(self):
        with pytest.raises(Invalid) as caught:
            contact_list(phone="not a phone")

        assert caught.value.field == "phone"

    def test_invalid_email_filter(self):
        with pytest.raises(Invalid) as caught:
            contact_list(email="not-an-email")

        assert caught.value.field == "email"

    def test_control_characters_in_the_name_filter(self):
        with pytest.raises(Invalid) as caught:
            contact_list(name="a\x00b")

        assert caught.value.field == "name"

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "eyJ2IjoxfQ:1abcde:zzzz",
            signing.dumps(
                {"v": 1, "s": "name", "o": "asc", "k": "A", "i": 1}, salt="other"
            ),
            signing.dumps(
                {"v": 9, "s": "name", "o": "asc", "k": "A", "i": 1}, salt=CURSOR_SALT
            ),
            signing.dumps(
                {"v": 1, "s": "phone", "o": "asc", "k": "A", "i": 1}, salt=CURSOR_SALT
            ),
            signing.dumps(
                {"v": 1, "s": "name", "o": "asc", "k": 5, "i": 1}, salt=CURSOR_SALT
            ),
            signing.dumps(
                {"v": 1, "s": "created_at", "o": "asc", "k": "yesterday", "i": 1},
                salt=CURSOR_SALT,
            ),
            signing.dumps(
                {"v": 1, "s": "id", "o": "asc", "k": None, "i": "1"}, salt=CURSOR_SALT
            ),
            "x" * 600,
            "a\x00b",
            "",
        ],
    )
    def test_cursor_not_issued_by_the_server(self, cursor):
        with pytest.raises(Invalid) as caught:
            contact_list(cursor=cursor)

        assert caught.value.field == "cursor"

    def test_tampered_cursor(self):
        ContactFactory.create_batch(2)
        cursor = contact_list(limit=1).next_cursor

        with pytest.raises(Invalid) as caught:
            contact_list(cursor=cursor[:-1] + ("A" if cursor[-1] != "A" else "B"))

        assert caught.value.field == "cursor"

    def test_cursor_with_offset(self):
        ContactFactory.create_batch(2)
        cursor = contact_list(limit=1).next_cursor

        with pytest.raises(Invalid) as caught:
            contact_list(cursor=cursor, offset=1)

        assert caught.value.field == "offset"

    def test_cursor_with_another_sort(self):
        ContactFactory.create_batch(2)
        cursor = contact_list(limit=1, sort="name").next_cursor

        with pytest.raises(Invalid) as caught:
            contact_list(cursor=cursor, sort="id")

        assert caught.value.field == "sort"


class TestContactPhoneTaken:
    def test_phone_of_another_contact_is_taken(self):
        ContactFactory(phone="+254712345678")

        assert contact_phone_taken(phone="+254712345678") is True

    def test_own_phone_is_not_taken(self):
        contact = ContactFactory(phone="+254712345678")

        assert (
            contact_phone_taken(phone="+254712345678", exclude_id=contact.pk) is False
        )


class TestContactSearchQ:
    def test_exact_phone_matches(self):
        contact = ContactFactory(phone="+254712345678")
        ContactFactory()

        found = Contact.objects.filter(contact_search_q("+254712345678"))

        assert list(found) == [contact]

    def test_exact_email_matches_whatever_the_case(self):
        contact = ContactFactory(email="amina@example.com")
        ContactFactory()

        found = Contact.objects.filter(contact_search_q("Amina@EXAMPLE.com"))

        assert list(found) == [contact]

    def test_a_term_that_is_neither_phone_nor_email_adds_no_condition(self):
        assert not contact_search_q("Amina")
