"""The page cache end to end, in process: hits, misses, freshness, clear, TTL.

Tests that write use ``transaction=True``: the generation is bumped when
the write commits, which the default test transaction never does.
"""

import threading

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends import locmem
from django.db import transaction
from django.urls import reverse

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from security.integrity import verify_integrity
from security.metrics import cache_stats
from tasks.tests.factories import TaskLogFactory
from tests.conftest import bearer_client
from tests.factories import UserFactory

LIST_URL = "/api/v1/contacts?limit=100"
STATS_URL = "/api/v1/task_logs/stats"
CLEAR_URL = "/api/v1/performance/cache/clear"


def detail_url(contact: Contact) -> str:
    return f"/api/v1/contacts/{contact.pk}"


def lookups(action) -> dict[str, int]:
    """How many page-cache hits and misses ``action`` caused."""
    before = cache_stats()
    action()
    after = cache_stats()
    return {key: after[key] - before[key] for key in before}


def listed_names(client) -> list[str]:
    return [c["name"] for c in client.get(LIST_URL).json()["contacts"]]


@pytest.mark.django_db
class TestHitsAndMisses:
    def test_the_first_read_is_a_miss(self, user_client):
        ContactFactory()

        counted = lookups(lambda: user_client.get(LIST_URL))

        assert counted == {"hits": 0, "misses": 1}

    def test_the_same_read_again_is_a_hit(self, user_client):
        ContactFactory()
        user_client.get(LIST_URL)

        counted = lookups(lambda: user_client.get(LIST_URL))

        assert counted == {"hits": 1, "misses": 0}

    def test_a_hit_answers_the_same_bytes(self, user_client):
        ContactFactory()
        first = user_client.get(LIST_URL)

        second = user_client.get(LIST_URL)

        assert second.status_code == 200
        assert second.content == first.content
        assert second["Content-Type"] == "application/json"

    def test_another_query_string_is_another_page(self, user_client):
        ContactFactory()
        user_client.get(LIST_URL)

        counted = lookups(lambda: user_client.get("/api/v1/contacts?limit=5"))

        assert counted == {"hits": 0, "misses": 1}

    def test_pages_are_shared_by_every_user(self, user_client):
        ContactFactory()
        user_client.get(LIST_URL)
        other = bearer_client(UserFactory())

        counted = lookups(lambda: other.get(LIST_URL))

        assert counted == {"hits": 1, "misses": 0}

    def test_a_single_contact_is_cached(self, user_client):
        contact = ContactFactory()
        user_client.get(detail_url(contact))

        counted = lookups(lambda: user_client.get(detail_url(contact)))

        assert counted == {"hits": 1, "misses": 0}

    def test_task_log_stats_are_cached(self, user_client):
        user_client.get(STATS_URL)

        counted = lookups(lambda: user_client.get(STATS_URL))

        assert counted == {"hits": 1, "misses": 0}

    def test_a_hit_queries_nothing_but_the_caller(
        self, user_client, settings, django_assert_max_num_queries
    ):
        # Embedded rate-limit counters live in the database; leave them out.
        settings.RATELIMIT_ENABLE = False
        ContactFactory.create_batch(3)
        user_client.get(LIST_URL)

        # At most the user behind the token: no count, no page, no decryption.
        with django_assert_max_num_queries(1):
            response = user_client.get(LIST_URL)

        assert len(response.json()["contacts"]) == 3

    def test_an_error_answer_is_not_cached(self, user_client):
        user_client.get("/api/v1/contacts/999999")

        counted = lookups(lambda: user_client.get("/api/v1/contacts/999999"))

        assert counted == {"hits": 0, "misses": 1}


@pytest.mark.django_db
class TestProtectionsOnHits:
    def test_an_anonymous_caller_is_refused_a_cached_page(
        self, user_client, api_client
    ):
        ContactFactory()
        user_client.get(LIST_URL)

        response = api_client.get(LIST_URL)

        assert response.status_code == 401
        assert set(response.json()) >= {"error", "message"}

    def test_a_hit_is_signed_over_its_body(self, user_client):
        ContactFactory()
        user_client.get(LIST_URL)

        response = user_client.get(LIST_URL)

        key = django_settings.RESPONSE_SIGNING_KEY
        assert verify_integrity(response.headers, response.content, key)

    def test_a_hit_carries_the_security_and_rate_limit_headers(self, user_client):
        ContactFactory()
        user_client.get(LIST_URL)

        response = user_client.get(LIST_URL)

        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'self'"
        assert "X-Request-ID" in response
        assert "X-Response-Time" in response
        assert "X-RateLimit-Remaining" in response

    def test_a_hit_is_counted_by_the_rate_limit(self, user_client, settings):
        settings.RATE_LIMIT_DEFAULT = 2
        ContactFactory()
        user_client.get(LIST_URL)
        user_client.get(LIST_URL)

        response = user_client.get(LIST_URL)

        assert response.status_code == 429


@pytest.mark.django_db(transaction=True)
class TestReadYourWrites:
    def test_a_created_contact_is_listed_at_once(self, user_client):
        ContactFactory(name="Amina Otieno")
        listed_names(user_client)

        user_client.post(
            "/api/v1/contacts",
            {"name": "Brian Kip", "phone": "+254722000111"},
            format="json",
        )

        assert listed_names(user_client) == ["Amina Otieno", "Brian Kip"]

    def test_an_updated_contact_is_read_at_once(self, user_client):
        contact = ContactFactory(name="Amina Otieno")
        user_client.get(detail_url(contact))

        user_client.patch(detail_url(contact), {"name": "Amina O."}, format="json")

        assert user_client.get(detail_url(contact)).json()["name"] == "Amina O."

    def test_a_deleted_contact_is_gone_at_once(self, user_client):
        contact = ContactFactory()
        user_client.get(detail_url(contact))

        user_client.delete(detail_url(contact))

        assert user_client.get(detail_url(contact)).status_code == 404

    def test_an_admin_edit_is_read_at_once(self, user_client, client, admin_user):
        contact = ContactFactory(name="Amina Otieno", phone="+254712345678")
        listed_names(user_client)
        client.force_login(admin_user)
        change = reverse("admin:contacts_contact_change", args=[contact.pk])

        client.post(
            change, {"name": "Amina Edited", "phone": "+254712345678", "email": ""}
        )

        assert listed_names(user_client) == ["Amina Edited"]

    def test_a_new_task_log_is_in_the_stats_at_once(self, user_client):
        user_client.get(STATS_URL)

        TaskLogFactory()

        assert user_client.get(STATS_URL).json()["total_executions"] == 1

    def test_a_read_during_an_open_write_does_not_outlive_its_commit(
        self, user_client, settings
    ):
        # The database-backed rate-limit counters would wait for the
        # writer's lock on SQLite; this test is about the page cache.
        settings.RATELIMIT_ENABLE = False
        contact = ContactFactory(name="Before")
        url = detail_url(contact)
        user_client.get(url)
        seen: list[str] = []

        def read_elsewhere() -> None:
            seen.append(user_client.get(url).json()["name"])

        with transaction.atomic():
            Contact.objects.filter(pk=contact.pk).update(name="After")
            reader = threading.Thread(target=read_elsewhere)
            reader.start()
            reader.join()

        assert seen == ["Before"]
        assert user_client.get(url).json()["name"] == "After"


@pytest.mark.django_db
class TestCacheClear:
    def test_admin_clears_the_cache(self, admin_client):
        response = admin_client.post(CLEAR_URL)

        body = response.json()
        assert response.status_code == 200
        assert body["message"] == "Cache cleared successfully"
        assert body["timestamp"].endswith("Z")

    def test_a_user_is_forbidden(self, user_client):
        response = user_client.post(CLEAR_URL)

        assert response.status_code == 403
        assert set(response.json()) >= {"error", "message"}

    def test_an_anonymous_caller_is_unauthorized(self, api_client):
        response = api_client.post(CLEAR_URL)

        assert response.status_code == 401
        assert set(response.json()) >= {"error", "message"}

    def test_the_next_read_after_a_clear_is_a_miss(self, user_client, admin_client):
        ContactFactory()
        user_client.get(LIST_URL)
        admin_client.post(CLEAR_URL)

        counted = lookups(lambda: user_client.get(LIST_URL))

        assert counted == {"hits": 0, "misses": 1}

    def test_a_clear_keeps_the_rate_limit_counters(self, user_client, admin_client):
        first = int(user_client.get(LIST_URL)["X-RateLimit-Remaining"])

        admin_client.post(CLEAR_URL)

        assert int(user_client.get(LIST_URL)["X-RateLimit-Remaining"]) == first - 1


class _ClockAhead:
    """Stands in for the ``time`` module of the in-process cache backend."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        import time

        return time.time() + self.seconds


@pytest.mark.django_db
class TestTimeToLive:
    @pytest.mark.parametrize(
        ("seconds_later", "counted"),
        [(29, {"hits": 1, "misses": 0}), (31, {"hits": 0, "misses": 1})],
        ids=["served-within", "expired-after"],
    )
    def test_a_page_lives_for_its_ttl(
        self, user_client, settings, monkeypatch, seconds_later, counted
    ):
        settings.CACHE_TTL = 30
        user_client.get(STATS_URL)
        monkeypatch.setattr(locmem, "time", _ClockAhead(seconds_later))

        assert lookups(lambda: user_client.get(STATS_URL)) == counted

    def test_a_ttl_of_zero_turns_the_cache_off(self, user_client, settings):
        settings.CACHE_TTL = 0
        user_client.get(STATS_URL)

        counted = lookups(lambda: user_client.get(STATS_URL))

        assert counted == {"hits": 0, "misses": 0}
