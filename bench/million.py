"""Deep pages at a million contacts on PostgreSQL: cursor against offset."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from bench import report, seed
from bench.serve import child_env, start_autom8

SAMPLES = 30
DEEP_OFFSET = 900_000


def million(args: argparse.Namespace, workdir: Path, *, command_line: str) -> str:
    """Seed, then time page requests one at a time; a section."""
    token = seed.bench_token()
    print(f"seeding {args.million:,} contacts (COPY, 2 encrypting processes)")
    seeded = seed.seed_million(args.million)
    offset = min(DEEP_OFFSET, max(0, args.million - 200))
    server = start_autom8(
        "autom8-million",
        workers=args.workers,
        env=child_env(CACHE_TTL="0"),
        log_dir=workdir,
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
            before = client.get(f"/api/v1/contacts?limit=100&offset={offset - 100}")
            before.raise_for_status()
            cursor = before.json()["meta"]["next_cursor"]
            timings = _alternate(
                client,
                {
                    "first page": "/api/v1/contacts?limit=100",
                    "cursor page": f"/api/v1/contacts?limit=100&cursor={quote(cursor)}",
                    f"offset={offset}": f"/api/v1/contacts?limit=100&offset={offset}",
                },
            )
    finally:
        server.stop()
    lines = [
        f"## {args.million:,} contacts on PostgreSQL: cursor and offset pages",
        "",
        f"{report.started()}.",
        f"Seeded in {seeded:.0f} s: every row has its own phone and email, "
        "its own Fernet ciphertexts and blind indexes, made by the same "
        "functions the services use and written with `COPY`. Autom8 via "
        f"launch ({args.workers} workers) with `CACHE_TTL=0`; one client, "
        f"{SAMPLES} requests per page kind, alternated; `limit=100`, default "
        "sort (name, id). The cursor page continues from the page at "
        f"offset {offset - 100}, so both deep pages hold the same contacts.",
        f"Reproduce: `{command_line}`",
        "",
        "| page | client p50 ms | client p99 ms | server p50 ms (X-Response-Time) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, (client_ms, server_ms) in timings.items():
        q = statistics.quantiles(client_ms, n=100)
        lines.append(
            f"| {name} | {statistics.median(client_ms):.1f} | {q[98]:.1f} "
            f"| {statistics.median(server_ms):.1f} |"
        )
    return "\n".join(lines)


def _alternate(
    client: httpx.Client, pages: dict[str, str]
) -> dict[str, tuple[list[float], list[float]]]:
    timings: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in pages
    }
    for _ in range(SAMPLES):
        for name, path in pages.items():
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            timings[name][0].append(elapsed)
            server_ms = response.headers["X-Response-Time"].removesuffix("ms")
            timings[name][1].append(float(server_ms))
    return timings
