"""wrk, driven from Python: one closed-loop run, its summary as a dict.

A small Lua ``done()`` prints wrk's own summary as one JSON line, so
nothing depends on the layout of wrk's text report. ``status`` counts the
answers outside 2xx/3xx (none of the measured routes redirects, so it is
the non-2xx count); ``connect``, ``read``, ``write`` and ``timeout`` are
socket errors.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPORT_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""

# Unique phones per request: a base per run (BENCH_PHONE_BASE, 200,000
# apart), 100,000 numbers per wrk thread, then a counter. +25471 and 7 digits are valid
# Kenyan mobile numbers, so every create passes validation.
POST_LUA = r"""
local counter = 0
local threads = 0
local base = tonumber(os.getenv("BENCH_PHONE_BASE") or "0")

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local n = (base + tid * 100000 + counter) % 10000000
  local body = string.format(
    '{"name": "Bench Post %07d", "phone": "+25471%07d", ' ..
    '"email": "post%07d@example.com"}', n, n, n)
  return wrk.format("POST", "/api/v1/contacts", headers, body)
end
"""

# Constant rate with wrk: every thread hands out send slots BENCH_INTERVAL_MS
# apart (LuaJIT's ffi reads the monotonic clock) and delay() holds each
# connection until its slot. While the server keeps up the rate is constant;
# when it falls behind, requests go out late and the achieved rate, which the
# report shows beside the target, drops. Requests rotate over list, detail,
# health and create (unique phones from BENCH_PHONE_BASE).
SOAK_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local interval = tonumber(os.getenv("BENCH_INTERVAL_MS"))
local detail = os.getenv("BENCH_DETAIL_PATH")
local base = tonumber(os.getenv("BENCH_PHONE_BASE") or "0")
local threads = 0
local next_slot = nil
local counter = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  headers = {}
  post_headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
    post_headers[name] = value
  end
  post_headers["Content-Type"] = "application/json"
end

function delay()
  local now = now_ms()
  if next_slot == nil or next_slot < now - 1000 then next_slot = now end
  local slot = next_slot
  next_slot = next_slot + interval
  return math.max(0, slot - now)
end

function request()
  counter = counter + 1
  local kind = counter % 4
  if kind == 0 then
    return wrk.format("GET", "/api/v1/contacts?limit=100", headers)
  elseif kind == 1 then
    return wrk.format("GET", detail, headers)
  elseif kind == 2 then
    return wrk.format("GET", "/api/v1/health", headers)
  end
  local n = (base + tid * 100000 + counter) % 10000000
  local body = string.format(
    '{"name": "Soak Contact %07d", "phone": "+25473%07d"}', n, n)
  return wrk.format("POST", "/api/v1/contacts", post_headers, body)
end
"""

INSTALL_HINT = (
    "wrk is not installed. On Debian or Ubuntu: "
    "sudo apt-get update && sudo apt-get install -y wrk "
    "(macOS: brew install wrk)."
)


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency and errors."""

    requests: int
    seconds: float
    bytes: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    # Server CPU time (all its processes and threads) per request: unlike
    # req/s it does not depend on the share of a busy machine it was given.
    cpu_ms: float | None = None

    @property
    def req_per_s(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Non-2xx answers plus socket errors."""
        return self.non_2xx + self.socket_errors


def wrk_path(*, install: bool) -> str:
    """The wrk executable; installs Debian's package when allowed and root.

    Raises SystemExit with the install command when wrk cannot be had.
    """
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if install and apt and _is_root():
        subprocess.run([apt, "update", "-qq"], check=False)
        subprocess.run([apt, "install", "-y", "-qq", "wrk"], check=False)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(INSTALL_HINT)


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    headers: dict[str, str],
    post: bool = False,
    soak: bool = False,
    env: dict[str, str] | None = None,
    wrk: str = "wrk",
) -> WrkResult:
    """Run wrk once against ``url`` (loopback only) and return its summary."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("the benchmark only targets 127.0.0.1")
    script = (SOAK_LUA if soak else POST_LUA if post else "") + REPORT_LUA
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    command += ["--latency", "--timeout", "10s", "-s", lua.name]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=seconds + 60
        )
    finally:
        Path(lua.name).unlink(missing_ok=True)
    return parse_report(done.stdout, stderr=done.stderr)


def parse_report(stdout: str, *, stderr: str = "") -> WrkResult:
    """The WrkResult of wrk's output with REPORT_LUA's JSON line."""
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line.removeprefix("BENCH_JSON "))
            break
    else:
        raise RuntimeError(f"wrk gave no summary: {stdout[-500:]} {stderr[-500:]}")
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        bytes=raw["bytes"],
        non_2xx=raw["status"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
