"""Constant-rate soak: an open-loop client at a fixed request rate.

wrk is closed-loop (each connection waits for its answer), so it cannot
hold a rate. Here every request is sent at its scheduled moment whatever
the server does, and its latency is counted from that moment, so a stall
shows up in the percentiles instead of silently lowering the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx

from autom8_site.launch import DEFAULT_SERVER_MODEL
from bench import report, seed
from bench.serve import child_env, start_autom8

# One request in four of each kind; creates use numbers of their own.
_KINDS = ("list", "detail", "health", "create")


async def _one(client, kind, n, ids, scheduled, latencies, failures) -> None:
    try:
        if kind == "list":
            response = await client.get("/api/v1/contacts?limit=100")
        elif kind == "detail":
            response = await client.get(f"/api/v1/contacts/{ids[n % len(ids)]}")
        elif kind == "health":
            response = await client.get("/api/v1/health")
        else:
            response = await client.post(
                "/api/v1/contacts",
                json={"name": f"Soak Contact {n:07d}", "phone": f"+25473{n:07d}"},
            )
        if not 200 <= response.status_code < 300:
            failures[f"HTTP {response.status_code}"] = (
                failures.get(f"HTTP {response.status_code}", 0) + 1
            )
    except httpx.HTTPError as exc:
        failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
    latencies.append((time.perf_counter() - scheduled) * 1000)


async def _drive(base, headers, ids, rate_per_s, seconds) -> dict:
    latencies: list[float] = []
    failures: dict[str, int] = {}
    late = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=10, limits=limits
    ) as client:
        start = time.perf_counter()
        total = int(rate_per_s * seconds)
        tasks = []
        for n in range(total):
            scheduled = start + n / rate_per_s
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                late += 1
            kind = _KINDS[n % len(_KINDS)]
            tasks.append(
                asyncio.create_task(
                    _one(client, kind, n, ids, scheduled, latencies, failures)
                )
            )
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return {
        "sent": total,
        "elapsed": elapsed,
        "failures": failures,
        "late": late,
        "p50": q[49],
        "p99": q[98],
        "max": max(latencies, default=0),
    }


def soak(args: argparse.Namespace, workdir: Path, command_line: str) -> str:
    """Run the soak against Autom8 as ``make run`` serves it; a section."""
    token = seed.bench_token()
    ids = seed.seed_contacts()
    server = start_autom8(
        "autom8-soak", workers=args.workers, env=child_env(), log_dir=workdir
    )
    try:
        result = asyncio.run(
            _drive(
                server.base,
                {"Authorization": f"Bearer {token}"},
                ids,
                args.rate / 60,
                args.minutes * 60,
            )
        )
        server.record_rss()
    finally:
        server.stop()
    errors = sum(result["failures"].values())
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(result["failures"].items()))
    database = "PostgreSQL" if args.pg else "SQLite"
    return "\n".join(
        [
            f"## Soak: {args.rate:,} requests/minute for {args.minutes:g} minutes "
            f"({database})",
            "",
            f"{report.started()}.",
            f"Autom8 via launch (gunicorn {DEFAULT_SERVER_MODEL}, {args.workers} "
            "workers, scheduler beside it); an open-loop client sends list, "
            "detail, health and create in turn at a constant rate; latency "
            "counts from each request's scheduled moment.",
            f"Reproduce: `{command_line}`",
            "",
            "| sent | seconds | errors | p50 ms | p99 ms | max ms "
            "| sent late (> 10 ms) | RSS per worker after (MB) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            f"| {result['sent']} | {result['elapsed']:.0f} | {errors} "
            f"| {result['p50']:.1f} | {result['p99']:.1f} | {result['max']:.0f} "
            f"| {result['late']} | {report.rss_cell(server.rss_rounds)} |",
            "",
            f"Errors by kind: {detail or 'none'}.",
        ]
    )
