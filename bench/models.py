"""Server models side by side: the same Autom8, served differently."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import report, seed
from bench.serve import Server, child_env, start_app
from bench.wrk import WrkResult, run_wrk

ROUTES = (
    ("health", "/api/v1/health", False),
    ("list", "/api/v1/contacts?limit=100", False),
    ("detail", "/api/v1/contacts/{id}", False),
    ("create", "/api/v1/contacts", True),
)


def compare_servers(
    args: argparse.Namespace,
    workdir: Path,
    wrk: str,
    *,
    configs: Sequence[tuple[str, int, int | None]],
    label: Callable[..., str],
    command_line: str,
) -> str:
    """Every config for every route, configs interleaved per round; a section."""
    token = seed.bench_token()
    ids = seed.seed_contacts()
    headers = {"Authorization": f"Bearer {token}"}
    seconds = min(args.seconds, 10)
    servers: dict[tuple, Server] = {}
    runs: dict[tuple, list[WrkResult]] = {}
    try:
        for model, workers, threads in configs:
            servers[(model, workers, threads)] = start_app(
                f"{model}-{workers}x{threads}",
                app="autom8_site.wsgi",
                model=model,
                workers=workers,
                threads=threads,
                env=child_env(),
                log_dir=workdir,
            )
        for number in range(args.rounds):
            order = list(configs) if number % 2 == 0 else list(reversed(configs))
            for key, path, post in ROUTES:
                for config in order:
                    slot = configs.index(config)
                    server = servers[config]
                    url = server.base + path.format(id=ids[len(ids) // 2])
                    env = child_env(
                        BENCH_PHONE_BASE=str(number * 2_000_000 + slot * 200_000)
                    )
                    if number == 0 and not post:
                        run_wrk(url, seconds=1, connections=args.connections,
                                threads=args.threads, headers=headers, wrk=wrk)  # fmt: skip
                    result = server.measured(
                        lambda url=url, post=post, env=env: run_wrk(
                            url,
                            seconds=seconds,
                            connections=args.connections,
                            threads=args.threads,
                            headers=headers,
                            post=post,
                            env=env,
                            wrk=wrk,
                        )
                    )
                    runs.setdefault((key, config), []).append(result)
                    print(
                        f"round {number + 1} {key:<7} {label(*config):<32} "
                        f"{result.req_per_s:7.0f} req/s p99 {result.p99_ms:6.1f} ms "
                        f"cpu {result.cpu_ms or 0:5.1f} ms/req errors {result.errors}",
                        flush=True,
                    )
                if post:
                    seed.drop_contacts_after(ids[-1])
            for server in servers.values():
                server.record_rss()
    finally:
        for server in servers.values():
            server.stop()
    return _section(args, seconds, configs, runs, servers, label, command_line)


def _section(args, seconds, configs, runs, servers, label, command_line) -> str:
    database = "PostgreSQL" if args.pg else "SQLite"
    if args.redis:
        database += " + Redis"
    lines = [
        f"## Server models ({database})",
        "",
        f"{report.started()}.",
        f"Autom8 only (no scheduler), wrk `-t{args.threads} -c{args.connections} "
        f"-d{seconds:g}s`, {args.rounds} rounds with the configurations "
        "interleaved (order reversed every other round). Cells: median req/s "
        "(median p99 ms; median server CPU ms per request, all processes "
        "and threads of the server).",
        f"Reproduce: `{command_line}`",
        "",
        "| server | " + " | ".join(key for key, _, _ in ROUTES) + " | errors "
        "| RSS per worker, last round (MB) |",
        "| --- | " + " | ".join("---:" for _ in ROUTES) + " | ---: | --- |",
    ]
    for config in configs:
        cells, errors = [], 0
        for key, _, _ in ROUTES:
            summary = report.summarise(runs[(key, config)])
            cells.append(
                f"{summary['rps']:.0f} ({summary['p99']:.0f}; {summary['cpu']:.1f})"
            )
            errors += summary["errors"]
        rss = ", ".join(f"{mb:.0f}" for mb in servers[config].rss_rounds[-1])
        lines.append(
            f"| {label(*config)} | " + " | ".join(cells) + f" | {errors} | {rss} |"
        )
    return "\n".join(lines)
