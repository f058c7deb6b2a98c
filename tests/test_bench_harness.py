"""The benchmark harness: wrk summaries, report sections, the ceiling app,
and the server options launch and the benchmark share."""

from __future__ import annotations

import httpx
import pytest

from autom8_site.launch import default_workers, server_command
from bench.report import write_section
from bench.serve import child_env, start_app
from bench.wrk import parse_report
from contract.contacts import CONTACT_KEYS, CONTACT_META_KEYS

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/api/v1/health
  2 threads and 16 connections
BENCH_JSON {"requests": 5000, "duration_us": 10000000, "bytes": 900000, \
"connect": 0, "read": 2, "write": 0, "status": 3, "timeout": 1, \
"p50_us": 2500, "p99_us": 12000, "max_us": 30000}
"""


def test_wrk_summary_gives_throughput_and_latency():
    result = parse_report(WRK_OUTPUT)

    assert result.req_per_s == 500
    assert (result.p50_ms, result.p99_ms) == (2.5, 12.0)


def test_wrk_errors_count_non_2xx_and_socket_errors():
    result = parse_report(WRK_OUTPUT)

    assert (result.non_2xx, result.socket_errors, result.errors) == (3, 3, 6)


def test_wrk_output_without_a_summary_is_an_error():
    with pytest.raises(RuntimeError):
        parse_report("unable to connect to 127.0.0.1:8000 Connection refused\n")


def test_a_section_is_rewritten_and_the_rest_of_the_file_kept(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(
        "# Benchmarks\n\nby hand\n\n<!-- bench:sqlite -->\nold\n<!-- /bench:sqlite -->\n"
        "\n<!-- bench:soak -->\nsoak\n<!-- /bench:soak -->\n"
    )

    write_section(path, "sqlite", "new")

    text = path.read_text()
    assert "old" not in text
    assert "<!-- bench:sqlite -->\nnew\n<!-- /bench:sqlite -->" in text
    assert "by hand" in text and "soak\n" in text


def test_a_missing_section_is_appended(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n")

    write_section(path, "soak", "figures")

    assert path.read_text().endswith(
        "<!-- bench:soak -->\nfigures\n<!-- /bench:soak -->\n"
    )


def test_web_concurrency_sets_the_worker_count(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")

    assert default_workers() == 7


def test_workers_default_to_one_per_core(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)

    assert default_workers() == 4


def test_sync_workers_are_started_without_threads():
    command = server_command(host="127.0.0.1", port=8000, workers=3, model="sync")

    assert command[command.index("--workers") + 1] == "3"
    assert "--threads" not in command


def test_gthread_workers_are_started_with_threads():
    command = server_command(host="127.0.0.1", port=8000, workers=2, model="gthread")

    assert "--threads" in command


@pytest.mark.slow
def test_ceiling_app_answers_in_the_contract_shapes(tmp_path):
    server = start_app(
        "ceiling",
        app="bench.ceiling.wsgi",
        model="sync",
        workers=1,
        env=child_env(),
        log_dir=tmp_path,
    )
    try:
        page = httpx.get(f"{server.base}/api/v1/contacts?limit=100").json()
        created = httpx.post(f"{server.base}/api/v1/contacts", json={"name": "x"})
    finally:
        server.stop()

    assert len(page["contacts"]) == 100
    assert tuple(page["contacts"][0]) == CONTACT_KEYS
    assert set(CONTACT_META_KEYS) <= set(page["meta"])
    assert created.status_code == 201
