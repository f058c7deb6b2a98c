"""Load benchmark of the v1 API on a real gunicorn, loopback only.

Seeds a throw-away database (SQLite under a temporary AUTOM8_VAR_DIR, or
the database in DATABASE_URL), starts gunicorn, then sends a bounded number
of requests per scenario from a pool of client threads and prints
throughput, latency percentiles and the server's resident memory.

    make bench                                   # SQLite, defaults
    .venv/bin/python bench/run.py --requests 4000 --concurrency 16
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
PASSWORD = "bench-password-0123"  # noqa: S105  # nosec B105  # a throwaway bench user


def _seed(contacts: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from contacts.services import contact_create

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    get_user_model().objects.create_user(username="bench", password=PASSWORD)
    for n in range(contacts):
        contact_create(
            name=f"Bench Contact {n:05d}",
            phone=f"+2547{n:08d}",
            email=f"bench{n}@example.com",
        )


def _start(port: int, workers: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "autom8_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
        ],
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def _rss_mb(proc: subprocess.Popen) -> float:
    parent = psutil.Process(proc.pid)
    procs = [parent, *parent.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs) / 1024 / 1024


def _scenario(client_factory, name, request, total, concurrency) -> dict:
    latencies: list[float] = []
    errors = 0

    def one(i: int) -> None:
        nonlocal errors
        client = client_factory()
        started = time.perf_counter()
        response = request(client, i)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "scenario": name,
        "requests": total,
        "errors": errors,
        "req_per_s": total / elapsed,
        "p50_ms": q[49],
        "p95_ms": q[94],
        "p99_ms": q[98],
    }


def main() -> int:
    """Seed, serve, measure, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="autom8-bench-")
    os.environ["AUTOM8_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autom8_site.settings")
    os.environ["RATE_LIMIT_DEFAULT"] = str(10**9)  # measure the limiter, never hit it
    os.environ["LOG_LEVEL"] = "warning"
    _seed(args.contacts)
    proc = _start(args.port, args.workers)
    base = f"http://127.0.0.1:{args.port}"
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/token",
            json={"username": "bench", "password": PASSWORD},
        ).json()["access"]
        headers = {"Authorization": f"Bearer {token}"}
        clients: dict[int, httpx.Client] = {}

        def client_factory() -> httpx.Client:
            import threading

            ident = threading.get_ident()
            if ident not in clients:
                clients[ident] = httpx.Client(
                    base_url=base, headers=headers, timeout=30
                )
            return clients[ident]

        scenarios = [
            ("GET /api/v1/health", lambda c, i: c.get("/api/v1/health")),
            (
                "GET /api/v1/contacts?limit=100",
                lambda c, i: c.get("/api/v1/contacts?limit=100"),
            ),
            (
                "GET /api/v1/contacts/{id}",
                lambda c, i: c.get(f"/api/v1/contacts/{i % args.contacts + 1}"),
            ),
            (
                "GET /api/v1/contacts?phone=...",
                lambda c, i: c.get(
                    "/api/v1/contacts",
                    params={"phone": f"+2547{i % args.contacts:08d}"},
                ),
            ),
            (
                "POST /api/v1/contacts",
                lambda c, i: c.post(
                    "/api/v1/contacts",
                    json={"name": f"New {i}", "phone": f"+2541{i:08d}"},
                ),
            ),
        ]
        rows = [
            _scenario(client_factory, n, r, args.requests, args.concurrency)
            for n, r in scenarios
        ]
        rss = _rss_mb(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    db = os.environ.get("DATABASE_URL", "sqlite (embedded)").split("@")[-1]
    print(
        f"\n{args.workers} gunicorn workers x 4 threads, {args.concurrency} client threads, "
        f"{args.contacts} contacts, database: {db}\n"
    )
    print("| scenario | requests | errors | req/s | p50 ms | p95 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['requests']} | {r['errors']} | {r['req_per_s']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} |"
        )
    print(f"\nServer resident memory after the run (master + workers): {rss:.0f} MB")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
