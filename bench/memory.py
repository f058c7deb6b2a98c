"""Memory of a web worker: Autom8 against the ceiling app, both on 127.0.0.1.

Two measurements, each short and self-stopping:

    .venv/bin/python bench/memory.py            # RSS of real gunicorn workers
    .venv/bin/python bench/memory.py --imports  # what a worker imports, ranked

The first starts Autom8 the way ``make run`` does (``autom8_site.launch``,
throw-away var dir, 100 contacts created through the service) and the
ceiling app served the same way, drives the benchmark mix (contact list
``limit=100``, contact detail, health, contact create; JWT auth) with wrk
``-t1`` for a few seconds per route and round, and prints the resident (RSS)
and unique (USS) memory of every web worker after each round.

The second imports each app in a fresh process as a worker does (the WSGI
module, which sets Django up, then the URLconf) and ranks the top-level
packages Autom8 loads beyond the ceiling by the Python memory allocated
while they were first imported (tracemalloc; C extensions' own mappings are
not included, so RSS differences are somewhat larger).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# Nothing else at import: ``--imports`` measures its child processes' modules.
from autom8_site.launch import DEFAULT_SERVER_MODEL  # noqa: E402

ROUTES = (
    ("list", "/api/v1/contacts?limit=100", False),
    ("detail", "/api/v1/contacts/{id}", False),
    ("health", "/api/v1/health", False),
    ("create", "/api/v1/contacts", True),
)
APPS = {
    "autom8": ("autom8_site.settings", "autom8_site.wsgi"),
    "ceiling": ("bench.ceiling.settings", "bench.ceiling.wsgi"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the asked measurement and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--imports", action="store_true", help="rank imports")
    parser.add_argument("--top", type=int, default=30, help="packages listed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2, help="per route")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--attribute", choices=sorted(APPS), help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="autom8-memory-"))
    _prepare_environment(workdir)
    if args.attribute:
        print(json.dumps(_attribute(args.attribute, plain=args.plain)))
        return 0
    if args.imports:
        print(_imports_report(top=args.top))
        return 0
    print(_serve_report(args, workdir))
    return 0


def _prepare_environment(workdir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "autom8_site.settings"
    os.environ["AUTOM8_VAR_DIR"] = str(workdir / "var")
    os.environ["RATE_LIMIT_DEFAULT"] = str(10**9)
    for name in ("WEB_CONCURRENCY", "DATABASE_URL", "REDIS_URL", "CACHE_TTL"):
        os.environ.pop(name, None)


# --- real workers ----------------------------------------------------------------


def _serve_report(args: argparse.Namespace, workdir: Path) -> str:
    import httpx

    from bench import seed
    from bench.serve import child_env, start_app, start_autom8
    from bench.wrk import run_wrk, wrk_path

    logging.getLogger("httpx").setLevel(logging.WARNING)
    wrk = wrk_path(install=False)
    seed.django_setup()
    token = seed.bench_token()
    ids = seed.seed_contacts()
    headers = {"Authorization": f"Bearer {token}"}
    servers: dict = {}
    requests = dict.fromkeys(APPS, 0)
    try:
        servers["autom8"] = start_autom8(
            "autom8", workers=args.workers, env=child_env(), log_dir=workdir
        )
        servers["ceiling"] = start_app(
            "ceiling",
            app=APPS["ceiling"][1],
            model=DEFAULT_SERVER_MODEL,
            workers=args.workers,
            env=child_env(),
            log_dir=workdir,
        )
        started = {name: _memory(server) for name, server in servers.items()}
        rounds: dict[str, list] = {name: [] for name in servers}
        for number in range(args.rounds):
            for name, server in servers.items():
                for _key, path, post in ROUTES:
                    result = run_wrk(
                        server.base + path.format(id=ids[len(ids) // 2]),
                        seconds=args.seconds,
                        connections=args.connections,
                        threads=1,
                        headers=headers,
                        post=post,
                        env=child_env(BENCH_PHONE_BASE=str(number * 2_000_000)),
                        wrk=wrk,
                    )
                    requests[name] += result.requests
                rounds[name].append(_memory(server))
            seed.drop_contacts_after(ids[-1])
            httpx.post(
                f"{servers['autom8'].base}/api/v1/performance/cache/clear",
                headers=headers,
                timeout=10,
            )
    finally:
        for server in servers.values():
            server.stop()
    return _serve_table(args, started, rounds, requests)


def _memory(server) -> list[tuple[float, float]]:
    """(RSS, USS) in MB of each web worker, sorted."""
    from bench.serve import _workers

    found = []
    for proc in _workers(server.proc.pid):
        info = proc.memory_full_info()
        found.append((info.rss / 2**20, info.uss / 2**20))
    return sorted(found)


def _serve_table(args, started, rounds, requests) -> str:
    def cell(workers: list[tuple[float, float]]) -> str:
        return ", ".join(f"{rss:.0f} ({uss:.0f})" for rss, uss in workers)

    lines = [
        f"gunicorn {DEFAULT_SERVER_MODEL}, {args.workers} workers; wrk -t1 "
        f"-c{args.connections}, {args.seconds:g} s per route and round "
        "(list limit=100, detail, health, create; JWT).",
        "RSS (USS) per worker, MB:",
        "",
        "| server | requests | idle | "
        + " | ".join(f"round {n + 1}" for n in range(args.rounds))
        + " |",
        "| --- | ---: | --- |" + " --- |" * args.rounds,
    ]
    for name in rounds:
        cells = " | ".join(cell(r) for r in rounds[name])
        lines.append(f"| {name} | {requests[name]} | {cell(started[name])} | {cells} |")
    return "\n".join(lines)


# --- what a worker imports ---------------------------------------------------------


def _imports_report(*, top: int) -> str:
    found = {}
    for name in APPS:
        command = [sys.executable, __file__, "--attribute", name]
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, cwd=BASE_DIR
        )
        found[name] = json.loads(done.stdout.strip().splitlines()[-1])
    ours, ceiling = found["autom8"], found["ceiling"]
    extra = collections.Counter()
    for module, size in ours["modules"].items():
        if module not in ceiling["modules"]:
            extra[module.split(".")[0]] += size
    lines = [
        f"after the WSGI module and the URLconf: "
        f"autom8 {len(ours['modules'])} modules, RSS {ours['rss_mb']:.1f} MB; "
        f"ceiling {len(ceiling['modules'])} modules, RSS {ceiling['rss_mb']:.1f} MB",
        f"(RSS without tracemalloc: autom8 {ours['plain_rss_mb']:.1f} MB, "
        f"ceiling {ceiling['plain_rss_mb']:.1f} MB)",
        "",
        "| package (not loaded by the ceiling) | Python MB allocated at import |",
        "| --- | ---: |",
    ]
    for package, size in extra.most_common(top):
        lines.append(f"| {package} | {size / 2**20:.2f} |")
    return "\n".join(lines)


def _attribute(app: str, *, plain: bool) -> dict:
    """Each module's own import cost (its imports excluded), in this process.

    Wraps importlib's ``_find_and_load``, which every import statement goes
    through, and reads tracemalloc's current size around each first import.
    """
    import importlib
    import importlib._bootstrap as bootstrap
    import tracemalloc

    import psutil

    settings_module, wsgi_module = APPS[app]
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    if plain:
        _load(importlib, wsgi_module)
        return {"rss_mb": psutil.Process().memory_info().rss / 2**20}
    untraced = subprocess.run(
        [sys.executable, __file__, "--attribute", app, "--plain"],
        capture_output=True,
        text=True,
        check=True,
        cwd=BASE_DIR,
    )
    own: collections.Counter = collections.Counter()
    stack: list[int] = []
    original = bootstrap._find_and_load

    def find_and_load(name, import_):
        if name in sys.modules:
            return original(name, import_)
        before = tracemalloc.get_traced_memory()[0]
        stack.append(0)
        try:
            return original(name, import_)
        finally:
            children = stack.pop()
            spent = tracemalloc.get_traced_memory()[0] - before
            own[name] += spent - children
            if stack:
                stack[-1] += spent

    tracemalloc.start()
    bootstrap._find_and_load = find_and_load
    try:
        _load(importlib, wsgi_module)
    finally:
        bootstrap._find_and_load = original
    return {
        "modules": {name: own.get(name, 0) for name in sys.modules},
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "plain_rss_mb": json.loads(untraced.stdout.strip().splitlines()[-1])["rss_mb"],
    }


def _load(importlib, wsgi_module: str) -> None:
    # As gunicorn does: the WSGI module sets Django up.
    importlib.import_module(wsgi_module)
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module


if __name__ == "__main__":
    sys.exit(main())
