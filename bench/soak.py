"""Constant-rate soak: wrk holding a fixed request rate for minutes.

wrk alone is closed-loop (each connection sends as soon as it is answered);
``SOAK_LUA`` spaces the sends out to the asked rate instead. A Python
open-loop client was tried first and dropped: on a 2-core machine it spent
about 6 ms of CPU per request, more than the server, and fell behind the
schedule itself. Latency here is wrk's (send to answer); a server that falls
behind shows up as an achieved rate below the target.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autom8_site.launch import DEFAULT_SERVER_MODEL, DEFAULT_THREADS
from bench import report, seed
from bench.serve import child_env, start_autom8
from bench.wrk import run_wrk


def soak(args: argparse.Namespace, workdir: Path, wrk: str, command_line: str) -> str:
    """Run the soak against Autom8 as ``make run`` serves it; a section."""
    token = seed.bench_token()
    ids = seed.seed_contacts()
    seconds = args.minutes * 60
    server = start_autom8(
        "autom8-soak", workers=args.workers, env=child_env(), log_dir=workdir
    )
    try:
        env = child_env(
            BENCH_INTERVAL_MS=str(args.threads * 60_000 / args.rate),
            BENCH_DETAIL_PATH=f"/api/v1/contacts/{ids[len(ids) // 2]}",
            BENCH_PHONE_BASE="3000000",
        )
        result = server.measured(
            lambda: run_wrk(
                f"{server.base}/api/v1/health",
                seconds=seconds,
                connections=args.connections,
                threads=args.threads,
                headers={"Authorization": f"Bearer {token}"},
                soak=True,
                env=env,
                wrk=wrk,
            )
        )
        server.record_rss()
    finally:
        seed.drop_contacts_after(ids[-1])
        server.stop()
    achieved = result.req_per_s * 60
    database = "PostgreSQL" if args.pg else "SQLite"
    return "\n".join(
        [
            f"## Soak: {args.rate:,} requests/minute for {args.minutes:g} minutes "
            f"({database})",
            "",
            f"{report.started()}.",
            f"Autom8 via launch (gunicorn {DEFAULT_SERVER_MODEL}, {args.workers} "
            f"workers x {DEFAULT_THREADS} threads, scheduler beside it); wrk "
            f"`-t{args.threads} -c{args.connections}` with sends spaced to the "
            "rate (`bench/wrk.py`, `SOAK_LUA`), rotating list, detail, health "
            "and create.",
            f"Reproduce: `{command_line}`",
            "",
            "| target req/min | achieved req/min | requests | errors (non-2xx "
            "+ socket) | p50 ms | p99 ms | max ms | server CPU ms/req "
            "| RSS per worker after (MB) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            f"| {args.rate:,} | {achieved:,.0f} | {result.requests:,} "
            f"| {result.errors} ({result.non_2xx} + {result.socket_errors}) "
            f"| {result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.max_ms:.0f} "
            f"| {result.cpu_ms or 0:.2f} | {report.rss_cell(server.rss_rounds)} |",
        ]
    )
