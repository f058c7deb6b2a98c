"""The revocation snapshot: fresh after every committed revocation, no query
per request otherwise, the table itself when the shared cache is away."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from security.models import RevokedToken
from security.revocations import any_revoked, forget_revocations, revoked_keys

pytestmark = pytest.mark.django_db(transaction=True)

DUMMY_SHARED = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}


@pytest.fixture(autouse=True)
def _no_snapshot():
    forget_revocations()
    yield
    forget_revocations()


def _revoke(key: str, *, expires_in: timedelta = timedelta(hours=1)) -> None:
    RevokedToken.objects.create(key=key, expires_at=timezone.now() + expires_in)


def _queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def test_a_committed_revocation_is_seen_at_once():
    revoked_keys()

    _revoke("jti:abc")

    assert any_revoked(["jti:abc"])


def test_nothing_new_means_no_query():
    _revoke("sid:s1")
    revoked_keys()

    assert _queries(revoked_keys) == 0


def test_an_expired_revocation_no_longer_counts():
    _revoke("jti:old", expires_in=timedelta(seconds=-1))

    assert not any_revoked(["jti:old"])


def test_without_the_shared_cache_the_table_is_read_every_time(settings):
    settings.CACHES = {**settings.CACHES, "shared": DUMMY_SHARED}
    revoked_keys()
    RevokedToken.objects.bulk_create(
        [RevokedToken(key="jti:x", expires_at=timezone.now() + timedelta(hours=1))]
    )

    assert _queries(lambda: any_revoked(["jti:x"])) == 1
    assert any_revoked(["jti:x"])
