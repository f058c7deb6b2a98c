"""Leader election: the lease row, the PostgreSQL advisory lock, the heartbeat row."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper
from django.utils import timezone

from tasks.models import SchedulerLease
from tasks.scheduler.leader import (
    AdvisoryLockLeadership,
    LeaseLeadership,
    _lock_connection_params,
    leadership_for_database,
)
from tasks.selectors import LEASE_NAME
from tasks.tests.support import _terminate_backend, database_down


def _lease() -> SchedulerLease:
    return SchedulerLease.objects.get(name=LEASE_NAME)


@pytest.fixture
def lease_settings(settings):
    settings.SCHEDULER_LEASE_SECONDS = 10
    settings.SCHEDULER_HEARTBEAT_SECONDS = 5


@pytest.mark.django_db
@pytest.mark.usefixtures("lease_settings")
class TestLeaseLeadership:
    def test_the_first_claimant_leads_and_writes_the_heartbeat(self):
        now = timezone.now()

        assert LeaseLeadership(identity="a:1").try_lead(now=now) is True
        lease = _lease()
        assert (lease.owner, lease.heartbeat_at, lease.acquired_at) == ("a:1", now, now)

    @pytest.mark.parametrize(
        ("seconds_later", "leads", "owner"),
        [(9, False, "a:1"), (11, True, "b:2")],
        ids=["waits-while-valid", "takes-over-once-expired"],
    )
    def test_a_second_claimant_leads_only_once_the_lease_expired(
        self, seconds_later, leads, owner
    ):
        now = timezone.now()
        LeaseLeadership(identity="a:1").try_lead(now=now)

        later = now + timedelta(seconds=seconds_later)
        assert LeaseLeadership(identity="b:2").try_lead(now=later) is leads
        assert _lease().owner == owner

    def test_renewal_moves_the_heartbeat_but_keeps_acquired_at(self):
        now = timezone.now()
        leader = LeaseLeadership(identity="a:1")
        leader.try_lead(now=now)

        assert leader.try_lead(now=now + timedelta(seconds=5)) is True
        lease = _lease()
        assert (lease.acquired_at, lease.heartbeat_at) == (
            now,
            now + timedelta(seconds=5),
        )

    def test_a_leader_overtaken_after_expiry_learns_it_lost(self):
        now = timezone.now()
        old = LeaseLeadership(identity="a:1")
        old.try_lead(now=now)
        LeaseLeadership(identity="b:2").try_lead(now=now + timedelta(seconds=11))

        assert old.try_lead(now=now + timedelta(seconds=12)) is False

    def test_release_lets_a_follower_lead_at_once(self):
        now = timezone.now()
        leader = LeaseLeadership(identity="a:1")
        leader.try_lead(now=now)

        leader.release()

        assert _lease().owner == ""
        assert (
            LeaseLeadership(identity="b:2").try_lead(now=now + timedelta(seconds=1))
            is True
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("lease_settings")
class TestLeaseDuringAnOutage:
    @pytest.mark.parametrize(
        ("seconds_later", "leads"),
        [(1, True), (6, False)],
        ids=["next-beat-within-the-lease", "next-beat-past-the-lease"],
    )
    def test_leader_leads_only_while_its_lease_outlasts_the_next_beat(
        self, seconds_later, leads
    ):
        now = timezone.now()
        leader = LeaseLeadership(identity="a:1")
        leader.try_lead(now=now)

        with database_down():
            assert leader.try_lead(now=now + timedelta(seconds=seconds_later)) is leads

    def test_a_follower_does_not_lead_without_the_database(self):
        with database_down():
            assert LeaseLeadership(identity="b:2").try_lead() is False


@pytest.fixture
def advisory():
    """Advisory-lock leaderships made by the test, released after it."""
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    made: list[AdvisoryLockLeadership] = []

    def make(identity: str) -> AdvisoryLockLeadership:
        made.append(AdvisoryLockLeadership(identity=identity))
        return made[-1]

    yield make
    for leadership in made:
        leadership.release()


@pytest.mark.django_db
class TestAdvisoryLockLeadership:
    def test_only_one_session_holds_the_lock(self, advisory):
        first, second = advisory("a:1"), advisory("b:2")

        assert first.try_lead() is True
        assert second.try_lead() is False
        assert _lease().owner == "a:1"

    def test_the_leader_keeps_leading_on_each_beat(self, advisory):
        leader = advisory("a:1")
        leader.try_lead()

        assert leader.try_lead() is True

    def test_release_hands_the_lock_over(self, advisory):
        first, second = advisory("a:1"), advisory("b:2")
        first.try_lead()

        first.release()

        assert second.try_lead() is True
        assert _lease().owner == "b:2"

    def test_a_killed_lock_session_loses_leadership_and_frees_the_lock(self, advisory):
        first, second = advisory("a:1"), advisory("b:2")
        first.try_lead()

        _terminate_backend(first._conn.info.backend_pid)

        assert first.try_lead() is False
        assert second.try_lead() is True


class TestLockConnectionParams:
    TLS = {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/autom8/ca.pem",
        "sslcert": "/etc/autom8/client.pem",
        "sslkey": "/etc/autom8/client.key",
    }

    def _database(self, **options) -> DatabaseWrapper:
        return DatabaseWrapper(
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "autom8",
                "USER": "autom8",
                "PASSWORD": "secret",
                "HOST": "db.example.com",
                "PORT": "5433",
                "OPTIONS": options,
                "TIME_ZONE": None,
                "CONN_MAX_AGE": 0,
                "CONN_HEALTH_CHECKS": False,
                "AUTOCOMMIT": True,
                "ATOMIC_REQUESTS": False,
                "TEST": {},
            }
        )

    def test_tls_options_reach_the_lock_session(self):
        params = _lock_connection_params(self._database(**self.TLS))

        assert {name: params.get(name) for name in self.TLS} == self.TLS

    def test_the_address_and_credentials_reach_the_lock_session(self):
        params = _lock_connection_params(self._database())

        assert (
            params["dbname"],
            params["user"],
            params["password"],
            params["host"],
            params["port"],
        ) == ("autom8", "autom8", "secret", "db.example.com", "5433")

    def test_configured_timeouts_win_over_the_lock_defaults(self):
        params = _lock_connection_params(
            self._database(connect_timeout=2, keepalives_idle=30)
        )

        assert (params["connect_timeout"], params["keepalives_idle"]) == (2, 30)
        assert params["keepalives_count"] == 3


@pytest.mark.django_db
def test_an_unmet_sslmode_keeps_the_lock_session_from_connecting(advisory, monkeypatch):
    options = {**connection.settings_dict["OPTIONS"], "sslmode": "require"}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)  # no TLS here
    leadership = advisory("a:1")

    assert leadership.try_lead() is False
    assert leadership._conn is None


def test_the_strategy_follows_the_database_vendor():
    expected = (
        AdvisoryLockLeadership if connection.vendor == "postgresql" else LeaseLeadership
    )

    assert isinstance(leadership_for_database(), expected)
