"""Load benchmark of Autom8 against a ceiling app, both on 127.0.0.1.

Autom8 is served the way ``make run`` serves it (``autom8_site.launch``:
web server and scheduler), the ceiling app (``bench/ceiling``: fixed
answers, no database, no authentication, no middleware) by the same server
model with the same worker count. wrk (``-t2 -c16 --latency``) runs each
endpoint against both, in interleaved rounds; medians are reported. Every
run targets 127.0.0.1 only and stops by itself.

    make bench                                          # SQLite, 3 rounds
    .venv/bin/python bench/run.py --pg postgres://postgres@127.0.0.1/autom8_bench \
        --redis redis://127.0.0.1:6379/3               # PostgreSQL + Redis
    .venv/bin/python bench/run.py --servers            # server models
    .venv/bin/python bench/run.py --soak               # 5,000 req/min, 5 min
    .venv/bin/python bench/run.py --pg-million --pg URL  # 1M contacts

Rate limiting, JWT, integrity signing, encryption and JSON access logs stay
on; the default limit is raised so it is counted on every request but never
refuses one. Sections between ``<!-- bench:... -->`` markers of
BENCHMARKS.md are rewritten by the mode that measured them.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

import httpx  # noqa: E402

from autom8_site.launch import (  # noqa: E402
    DEFAULT_SERVER_MODEL,
    DEFAULT_THREADS,
)
from bench import report, seed  # noqa: E402
from bench.serve import Server, child_env, start_app, start_autom8  # noqa: E402
from bench.wrk import WrkResult, run_wrk, wrk_path  # noqa: E402

CEILING_APP = "bench.ceiling.wsgi"
UNLIMITED = str(10**9)


@dataclass(frozen=True)
class Endpoint:
    """One measured route: Autom8's server and the ceiling it is held to."""

    key: str
    label: str
    path: str
    ours: str
    ceiling: str | None
    ceiling_label: str
    post: bool = False
    target: float = 0.0
    p99_target_ms: float | None = None


def endpoints(detail_id: int) -> list[Endpoint]:
    """The measured routes, in the order of a round."""
    return [
        Endpoint(
            "list", "GET /api/v1/contacts?limit=100 (warm)",
            "/api/v1/contacts?limit=100", "autom8", "ceiling",
            "fixed 100-contact list (DRF)", target=1.0, p99_target_ms=15,
        ),
        Endpoint(
            "list_cold", "GET /api/v1/contacts?limit=100 (cache off)",
            "/api/v1/contacts?limit=100", "autom8_nocache", None,
            "fixed 100-contact list (DRF)", target=0.3,
        ),
        Endpoint(
            "detail", "GET /api/v1/contacts/{id} (warm)",
            f"/api/v1/contacts/{detail_id}", "autom8", "ceiling",
            "fixed contact (DRF)", target=0.8,
        ),
        Endpoint(
            "health", "GET /api/v1/health", "/api/v1/health", "autom8",
            "ceiling", 'plain Django view {"status": "ok"}', target=0.7,
        ),
        Endpoint(
            "create", "POST /api/v1/contacts", "/api/v1/contacts", "autom8",
            "ceiling", "DRF POST, parse the body, fixed 201", post=True,
            target=0.4,
        ),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the mode, prepare a throw-away database, measure, report."""
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the servers started are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report.mark_start()
    wrk = None if args.pg_million else wrk_path(install=not args.no_install)
    workdir = Path(tempfile.mkdtemp(prefix="autom8-bench-"))
    _prepare_environment(args, workdir)
    seed.django_setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.pg_million:
            body = _million(args, workdir)
            name = "pg-million"
        elif args.soak:
            from bench.soak import soak

            body = soak(args, workdir, wrk, _command_line())
            name = "soak"
        elif args.servers:
            body = _servers(args, workdir, wrk)
            name = "server-models"
        else:
            body = _bench(args, workdir, wrk)
            name = "postgresql" if args.pg else "sqlite"
    finally:
        _cleanup(args)
    print(body)
    if not args.no_write:
        report.write_section(Path(args.output), name, body)
        print(f"\nwritten to {args.output} (section {name}); logs in {workdir}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--servers", action="store_true", help="compare server models")
    mode.add_argument("--soak", action="store_true", help="constant-rate soak (wrk)")
    mode.add_argument(
        "--pg-million", action="store_true", help="cursor vs offset at 1M (needs --pg)"
    )
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="throw-away PostgreSQL database, dropped and re-created "
        "(its name must contain 'bench')",
    )
    parser.add_argument("--redis", metavar="URL", help="Redis for caches and limits")
    parser.add_argument("--seconds", type=float, default=10, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rate", type=int, default=5000, help="soak: req/minute")
    parser.add_argument("--minutes", type=float, default=5, help="soak duration")
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--output", default=str(BASE_DIR / "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--no-install", action="store_true", help="never apt-get install wrk"
    )
    return parser


def _command_line() -> str:
    args = " ".join(shlex.quote(a) for a in sys.argv[1:])
    return f".venv/bin/python bench/run.py {args}".strip()


def _prepare_environment(args: argparse.Namespace, workdir: Path) -> None:
    """Point this process and every server at the throw-away stores."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "autom8_site.settings"
    os.environ["AUTOM8_VAR_DIR"] = str(workdir / "var")
    os.environ["RATE_LIMIT_DEFAULT"] = UNLIMITED
    os.environ.pop("WEB_CONCURRENCY", None)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("CACHE_TTL", None)
    if args.pg_million and not args.pg:
        raise SystemExit("--pg-million needs --pg URL")
    if args.pg:
        _recreate_database(args.pg)
        os.environ["DATABASE_URL"] = args.pg
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
        os.environ["CACHE_KEY_PREFIX"] = f"bench{os.getpid()}"


def _recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name or not name.replace("_", "").isalnum():
        raise SystemExit(f"--pg: refusing to drop {name!r}; use a name with 'bench'")
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("--pg: the benchmark only uses a local PostgreSQL")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _cleanup(args: argparse.Namespace) -> None:
    from django.db import connections

    connections.close_all()
    if args.redis:
        import redis

        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(match=f"*bench{os.getpid()}*"))
        if keys:
            client.delete(*keys)


# --- the main benchmark ----------------------------------------------------------


def _bench(args: argparse.Namespace, workdir: Path, wrk: str) -> str:
    token = seed.bench_token()
    ids = seed.seed_contacts()
    headers = {"Authorization": f"Bearer {token}"}
    has_ttl = seed.setting("CACHE_TTL") is not None
    servers: dict[str, Server] = {}
    try:
        servers["autom8"] = start_autom8(
            "autom8", workers=args.workers, env=child_env(), log_dir=workdir
        )
        servers["autom8_nocache"] = start_autom8(
            "autom8_nocache",
            workers=args.workers,
            env=child_env(CACHE_TTL="0"),
            log_dir=workdir,
        )
        servers["ceiling"] = start_app(
            "ceiling",
            app=CEILING_APP,
            model=DEFAULT_SERVER_MODEL,
            workers=args.workers,
            env=child_env(),
            log_dir=workdir,
        )
        results = _rounds(
            args,
            servers,
            endpoints(ids[len(ids) // 2]),
            headers,
            wrk,
            last_seeded=ids[-1],
        )
    finally:
        for server in servers.values():
            server.stop()
    return _bench_section(args, results, servers, has_ttl=has_ttl)


def _rounds(
    args: argparse.Namespace,
    servers: dict[str, Server],
    routes: list[Endpoint],
    headers: dict[str, str],
    wrk: str,
    *,
    last_seeded: int,
) -> dict:
    results: dict[tuple[str, str], list[WrkResult]] = {}
    for number in range(args.rounds):
        for route in routes:
            pair = [route.ours] + ([route.ceiling] if route.ceiling else [])
            if number % 2:
                pair.reverse()  # alternate who goes first
            for name in pair:
                server = servers[name]
                env = child_env(BENCH_PHONE_BASE=str(number * 2_000_000))

                def measure(seconds: float, _s=server, _r=route, _e=env) -> WrkResult:
                    return _s.measured(
                        lambda: run_wrk(
                            _s.base + _r.path,
                            seconds=seconds,
                            connections=args.connections,
                            threads=args.threads,
                            headers=headers,
                            post=_r.post,
                            env=_e,
                            wrk=wrk,
                        )
                    )

                if number == 0 and not route.post:
                    measure(2)  # warm caches and connections; not recorded
                result = measure(args.seconds)
                results.setdefault((route.key, name), []).append(result)
                print(
                    f"round {number + 1} {route.key:<10} {name:<15} "
                    f"{result.req_per_s:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
                    f"p99 {result.p99_ms:6.1f} ms  cpu {result.cpu_ms or 0:5.1f} ms/req  "
                    f"errors {result.errors}",
                    flush=True,
                )
            if route.post:
                _forget_posted(servers, headers, last_seeded=last_seeded)
        for server in servers.values():
            server.record_rss()
    return {"runs": results, "routes": routes}


def _forget_posted(
    servers: dict[str, Server], headers: dict[str, str], *, last_seeded: int
) -> None:
    """Back to the seeded contacts, so every round lists the same table."""
    seed.drop_contacts_after(last_seeded)
    for name in ("autom8", "autom8_nocache"):
        # The bulk delete bypasses the services; clear the response caches
        # where this build has the route (contract §6), else nothing is cached.
        httpx.post(
            f"{servers[name].base}/api/v1/performance/cache/clear",
            headers=headers,
            timeout=10,
        )


def _bench_section(
    args: argparse.Namespace,
    results: dict,
    servers: dict[str, Server],
    *,
    has_ttl: bool,
) -> str:
    runs, routes = results["runs"], results["routes"]
    database = "PostgreSQL + Redis" if args.pg else "SQLite (embedded default)"
    if args.pg and not args.redis:
        database = "PostgreSQL"
    model = _model_label(DEFAULT_SERVER_MODEL, args.workers)
    lines = [
        f"## {database}",
        "",
        f"{report.started()}.",
        f"Server: {model} for Autom8 and for the ceiling app; wrk "
        f"`-t{args.threads} -c{args.connections} -d{args.seconds:g}s --latency` "
        f"on the same machine; {args.rounds} interleaved rounds, medians; "
        "100 contacts.",
        f"Reproduce: `{_command_line()}`",
        "",
        "| endpoint | Autom8 req/s | p50 ms | p99 ms | errors "
        "| ceiling | req/s | p50 ms | p99 ms | errors | ratio | target |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    for route in routes:
        ours = report.summarise(runs[(route.key, route.ours)])
        ceiling_key = route.ceiling or "ceiling"
        ceiling_route = "list" if route.key == "list_cold" else route.key
        ceil = report.summarise(runs[(ceiling_route, ceiling_key)])
        ratio = ours["rps"] / ceil["rps"] if ceil["rps"] else 0.0
        met = ratio >= route.target
        target = f"≥ {route.target:.2f}"
        if route.p99_target_ms is not None:
            target += f", p99 ≤ {route.p99_target_ms:g} ms"
            met = met and ours["p99"] <= route.p99_target_ms
        lines.append(
            f"| {route.label} | {ours['rps']:.0f} | {ours['p50']:.1f} "
            f"| {ours['p99']:.1f} | {ours['errors']} | {route.ceiling_label} "
            f"| {ceil['rps']:.0f} | {ceil['p50']:.1f} | {ceil['p99']:.1f} "
            f"| {ceil['errors']} | {ratio:.2f} | {target}: "
            f"{'met' if met else 'missed'} |"
        )
    lines += [
        "",
        "Server CPU time per request (all processes and threads of each "
        "server; independent of the share of a busy machine a server got) "
        "and req/s in each round:",
        "",
        "| endpoint | Autom8 CPU ms/req | ceiling CPU ms/req | CPU ratio "
        "(ceiling / Autom8) | Autom8 req/s by round | ceiling req/s by round |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for route in routes:
        ours = report.summarise(runs[(route.key, route.ours)])
        ceiling_route = "list" if route.key == "list_cold" else route.key
        ceil = report.summarise(runs[(ceiling_route, "ceiling")])
        cpu_ratio = ceil["cpu"] / ours["cpu"] if ours["cpu"] else 0.0
        lines.append(
            f"| {route.label} | {ours['cpu']:.2f} | {ceil['cpu']:.2f} "
            f"| {cpu_ratio:.2f} | {ours['rounds']} | {ceil['rounds']} |"
        )
    lines += [
        "",
        "Resident memory per worker after each round (MB, round 1 / 2 / 3):",
        "",
        "| server | RSS per worker |",
        "| --- | --- |",
    ]
    for name, server in servers.items():
        lines.append(f"| {name} | {report.rss_cell(server.rss_rounds)} |")
    lines.append("")
    if not has_ttl:
        lines.append(
            "This build has no `CACHE_TTL` setting yet: the cache-off server "
            "was started with `CACHE_TTL=0`, which it ignores, so both list "
            "rows measure the same code."
        )
    else:
        lines.append("The cache-off row is a second Autom8 started with `CACHE_TTL=0`.")
    lines.append(
        "Errors are non-2xx answers plus socket errors. Each POST round creates "
        "contacts with unique phones (wrk Lua); they are deleted after the round."
    )
    return "\n".join(lines)


def _model_label(
    model: str, workers: int, threads: int | None = DEFAULT_THREADS
) -> str:
    if model == "gthread":
        return f"gunicorn gthread {workers}x{threads}"
    if model == "granian":
        per_worker = f"x{threads}" if threads else " (default threads)"
        return f"granian WSGI {workers}{per_worker}"
    return f"gunicorn sync, {workers} workers"


# --- server models ---------------------------------------------------------------


def _server_configs() -> tuple[tuple[str, int, int | None], ...]:
    """(model, workers, threads) of the comparison; cores-derived counts."""
    cores = os.cpu_count() or 1
    return (
        ("sync", cores, None),
        ("sync", cores + 1, None),
        ("sync", 2 * cores, None),
        ("gthread", cores, DEFAULT_THREADS),
        ("gthread", cores + 1, DEFAULT_THREADS),
        ("granian", cores, None),
        ("granian", cores, DEFAULT_THREADS),
    )


def _servers(args: argparse.Namespace, workdir: Path, wrk: str) -> str:
    from bench.models import compare_servers

    return compare_servers(
        args,
        workdir,
        wrk,
        configs=_server_configs(),
        label=_model_label,
        command_line=_command_line(),
    )


def _million(args: argparse.Namespace, workdir: Path) -> str:
    from bench.million import million

    return million(args, workdir, command_line=_command_line())


if __name__ == "__main__":
    sys.exit(main())
