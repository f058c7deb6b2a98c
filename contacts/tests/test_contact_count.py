"""The unfiltered listing's total: counted once per change of the contacts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.selectors import contact_count, contact_list
from contacts.tests.factories import ContactFactory

# Totals move on when a write commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def _count_queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return sum("COUNT(" in query["sql"].upper() for query in captured)


def test_a_second_count_without_writes_queries_nothing():
    ContactFactory.create_batch(2)
    contact_count()

    assert _count_queries(contact_count) == 0


def test_a_committed_create_is_counted_at_once():
    ContactFactory.create_batch(2)
    contact_count()

    ContactFactory()

    assert contact_count() == 3


def test_a_committed_delete_is_counted_at_once():
    first, _second = ContactFactory.create_batch(2)
    contact_count()

    first.delete()

    assert contact_count() == 1


def test_a_filtered_listing_counts_its_own_matches():
    ContactFactory(name="Amina Otieno")
    ContactFactory(name="John Doe")
    contact_list()

    page = contact_list(name="amina")

    assert page.total == 1


def test_a_cursor_page_continues_after_the_previous_one():
    for name in ("Bea", "Ann", "Cid", "Ann"):
        ContactFactory(name=name)
    first = contact_list(limit=2)

    second = contact_list(limit=2, cursor=first.next_cursor)

    names = [c.name for c in first.contacts] + [c.name for c in second.contacts]
    assert names == ["Ann", "Ann", "Bea", "Cid"]
