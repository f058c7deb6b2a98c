"""BENCHMARKS.md sections: each mode rewrites its own, the rest is kept."""

from __future__ import annotations

import os
import platform
import re
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.wrk import WrkResult


def median(values: Sequence[float]) -> float:
    """The median, 0 for no values."""
    return statistics.median(values) if values else 0.0


_START: dict[str, str] = {}


def mark_start() -> None:
    """Remember the moment and the machine's load as the run begins."""
    _START["stamp"] = stamp()
    _START["machine"] = machine()


def started() -> str:
    """``Measured <when>; <machine>`` of the run's start."""
    when = _START.get("stamp") or stamp()
    return f"Measured {when}; {_START.get('machine') or machine()}"


def machine() -> str:
    """One line describing where the figures were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"load average at start {load}"
    )


def stamp() -> str:
    """Today, UTC, to the minute."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def summarise(runs: Sequence[WrkResult]) -> dict:
    """Medians of req/s, p50 and p99 over rounds; errors summed."""
    return {
        "rps": median([r.req_per_s for r in runs]),
        "p50": median([r.p50_ms for r in runs]),
        "p99": median([r.p99_ms for r in runs]),
        "errors": sum(r.errors for r in runs),
        "socket": sum(r.socket_errors for r in runs),
        "rounds": " / ".join(f"{r.req_per_s:.0f}" for r in runs),
        "bytes": median([r.bytes / r.requests for r in runs if r.requests]),
        "cpu": median([r.cpu_ms for r in runs if r.cpu_ms is not None]),
    }


def rss_cell(rounds: Sequence[Sequence[float]]) -> str:
    """Per-worker RSS of each round: ``61, 62 / 63, 63`` (MB)."""
    return " / ".join(", ".join(f"{mb:.0f}" for mb in workers) for workers in rounds)


def write_section(path: Path, name: str, body: str) -> None:
    """Replace (or append) the section ``name`` of ``path`` with ``body``."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
