"""Metrics under real gunicorn: every worker's requests are counted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests.servers import gunicorn_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROUTE = "GET /api/v1/info"
BATCH = 20
MAX_REQUESTS = 200


def _info_count(base: str) -> int:
    body = httpx.get(f"{base}/api/v1/metrics", timeout=10).json()
    return body["requests"]["by_endpoint"].get(ROUTE, {"count": 0})["count"]


def _send(base: str, count: int) -> None:
    def one(_: int) -> int:
        # A fresh connection each time, so the workers take turns accepting.
        return httpx.get(f"{base}/api/v1/info", timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(one, range(count))) == {200}


def _workers_that_served_info(folder) -> set[str]:
    """Pids whose own counter file holds a request to the info route."""
    return {
        path.stem.rsplit("_", 1)[-1]
        for path in folder.glob("counter_*.db")
        if any(
            '"/api/v1/info"' in key and value > 0
            for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
        )
    }


def test_requests_spread_over_two_workers_are_all_counted(tmp_path):
    folder = tmp_path / "metrics"
    with gunicorn_server(
        workers=2, threads=4, PROMETHEUS_MULTIPROC_DIR=str(folder)
    ) as base:
        sent = 0
        while sent < MAX_REQUESTS:
            _send(base, BATCH)
            sent += BATCH
            if len(_workers_that_served_info(folder)) >= 2:
                break

        counted = _info_count(base)

    assert len(_workers_that_served_info(folder)) >= 2, (
        "one worker served every request"
    )
    assert counted == sent


def test_the_metrics_folder_is_private_and_cleaned_at_start(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    stale = folder / "counter_999999999.db"
    stale.write_bytes(b"\0" * 16)

    with gunicorn_server(workers=1, PROMETHEUS_MULTIPROC_DIR=str(folder)) as base:
        httpx.get(f"{base}/api/v1/info", timeout=10)

    assert not stale.exists()
    assert folder.stat().st_mode & 0o777 == 0o700
