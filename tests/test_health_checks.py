"""Health probes are cheap: the checks run at most once per two seconds."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.utils import timezone

from autom8_site.health import HEALTH_TTL_SECONDS, system_health
from tasks.models import SchedulerLease

pytestmark = pytest.mark.django_db

HEALTH_URL = "/api/v1/health"


def _stale_lease() -> None:
    moment = timezone.now() - timedelta(hours=1)
    SchedulerLease.objects.create(
        name="scheduler", owner="node-1:4242", acquired_at=moment, heartbeat_at=moment
    )


def test_a_probe_soon_after_another_runs_no_query(
    api_client, django_assert_num_queries
):
    api_client.get(HEALTH_URL)

    with django_assert_num_queries(0):
        response = api_client.get(HEALTH_URL)

    assert response.status_code == 200


def test_a_probe_soon_after_another_writes_nothing_to_the_caches(api_client):
    api_client.get(HEALTH_URL)
    key = f"health-check:{os.getpid()}"
    for alias in ("default", "ratelimit"):
        caches[alias].delete(key)

    api_client.get(HEALTH_URL)

    assert [caches[alias].get(key) for alias in ("default", "ratelimit")] == [
        None,
        None,
    ]


def test_the_checks_run_again_once_the_outcome_is_two_seconds_old():
    system_health(clock=lambda: 1000.0)
    _stale_lease()

    soon = system_health(clock=lambda: 1000.0 + HEALTH_TTL_SECONDS / 2)
    later = system_health(clock=lambda: 1000.0 + HEALTH_TTL_SECONDS)

    assert (soon.scheduler, later.scheduler) == ("not_running", "stale")


def test_the_rate_limit_counters_are_checked_by_a_write_that_reads_back():
    health = system_health()

    assert health.cache == "ok"
    assert caches["ratelimit"].get(f"health-check:{os.getpid()}") is not None
