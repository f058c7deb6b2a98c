"""The production configuration under deploy/ is valid for its tools.

gunicorn checks its own configuration file and serves with it; the systemd
units go through ``systemd-analyze verify`` (when the machine has it) and a
key check; the nginx example goes through ``nginx -t`` when nginx is
installed, and always through a structural check; the environment template,
with secrets filled in, passes ``manage.py check --deploy``.
"""

from __future__ import annotations

import base64
import configparser
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import BASE_DIR, free_port

DEPLOY = BASE_DIR / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
UNITS = DEPLOY / "systemd"
NGINX_CONF = DEPLOY / "nginx" / "autom8.conf"
ENV_TEMPLATE = DEPLOY / "autom8.env.example"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "UMask": "0077",
}
SECRETS = {
    "SECRET_KEY": "s" * 20 + "ecret-key-with-enough-entropy-0123456789-abcdefghijkl",
    "JWT_SIGNING_KEY": "j" * 40,
    "RESPONSE_SIGNING_KEY": "r" * 40,
    "BLIND_INDEX_KEY": "b" * 40,
    "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(b"k" * 32).decode(),
}


def _gunicorn_settings(**env: str) -> dict:
    """The module-level names of gunicorn.conf.py, read under ``env``."""
    saved = dict(os.environ)
    try:
        for name in ("WEB_CONCURRENCY", "GUNICORN_BIND", "GUNICORN_THREADS"):
            os.environ.pop(name, None)
        os.environ.update(env)
        return runpy.run_path(str(GUNICORN_CONF))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(UNITS / name)
    return parser


def _env_template() -> dict[str, str]:
    pairs = {}
    for line in ENV_TEMPLATE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


class TestGunicornConf:
    def test_gunicorn_accepts_the_configuration(self, tmp_path):
        done = _gunicorn_check(tmp_path, "--check-config")

        assert done.returncode == 0, done.stderr

    def test_workers_follow_the_number_of_cores(self):
        conf = _gunicorn_settings()

        assert conf["workers"] == os.cpu_count()

    def test_web_concurrency_overrides_the_worker_count(self):
        conf = _gunicorn_settings(WEB_CONCURRENCY="3")

        assert conf["workers"] == 3

    def test_timeouts_are_short_because_workers_run_no_task_code(self):
        conf = _gunicorn_settings()

        assert (conf["timeout"], conf["graceful_timeout"]) == (30, 10)
        assert 0 < conf["keepalive"] < 30

    def test_gunicorn_writes_errors_but_no_access_log(self, tmp_path):
        done = _gunicorn_check(tmp_path, "--print-config")

        resolved = dict(re.findall(r"^(\w+)\s+= (.*)$", done.stdout, re.M))
        assert done.returncode == 0, done.stderr
        assert (resolved["accesslog"], resolved["errorlog"]) == ("None", "-")

    def test_each_request_is_logged_once_by_the_application(self, tmp_path):
        # /api/v1/info needs no table, so the empty database is enough.
        port = free_port()
        env = _server_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}")
        log = tmp_path / "out.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                _gunicorn_command(),
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_for(f"http://127.0.0.1:{port}/api/v1/health", proc)
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/info", timeout=5)
                request_id = response.headers["X-Request-ID"]
                _wait_for_line(log, request_id)
            finally:
                proc.terminate()
                proc.wait(timeout=20)

        lines = [
            json.loads(line)
            for line in log.read_text().splitlines()
            if request_id in line
        ]
        assert [line.get("module") for line in lines] == ["autom8.request"]
        assert lines[0]["status_code"] == response.status_code
        assert lines[0]["path"] == "/api/v1/info"


def _gunicorn_command(*flags: str) -> list[str]:
    """gunicorn serving the application with the deploy configuration."""
    conf = ["-c", str(GUNICORN_CONF), "autom8_site.wsgi"]
    return [sys.executable, "-m", "gunicorn", *flags, *conf]


def _gunicorn_check(tmp_path: Path, flag: str) -> subprocess.CompletedProcess:
    """gunicorn run with a flag that checks the configuration and exits."""
    return subprocess.run(
        _gunicorn_command(flag),
        cwd=BASE_DIR,
        env=_server_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a one-worker server on an empty SQLite database."""
    return {
        **os.environ,
        "AUTOM8_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "WEB_CONCURRENCY": "1",
        **extra,
    }


def _wait_for_line(log: Path, text: str, timeout: float = 10) -> None:
    # The access line is written by a thread of its own, after the response.
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"no line with {text} in the log"
        time.sleep(0.1)


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


class TestSystemdUnits:
    @pytest.mark.parametrize(
        "unit", ["autom8-api.service", "autom8-scheduler@.service"]
    )
    def test_units_are_hardened(self, unit):
        service = _unit(unit)["Service"]

        assert {key: service.get(key) for key in HARDENING} == HARDENING

    def test_api_unit_runs_gunicorn_with_the_deploy_configuration(self):
        service = _unit("autom8-api.service")["Service"]

        assert (
            "gunicorn -c deploy/gunicorn.conf.py autom8_site.wsgi"
            in (service["ExecStart"])
        )

    def test_scheduler_unit_is_a_restarting_runscheduler_template(self):
        unit = _unit("autom8-scheduler@.service")

        assert unit["Service"]["ExecStart"].endswith("manage.py runscheduler")
        assert unit["Service"]["Restart"] == "always"
        assert "%i" in unit["Unit"]["Description"]

    def test_systemd_analyze_verify_finds_nothing(self, tmp_path):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            pytest.skip("systemd-analyze is not installed")
        # Point the absolute paths at this checkout so the programs exist.
        for unit in UNITS.glob("*.service"):
            text = unit.read_text().replace("/srv/autom8/.venv", str(Path(sys.prefix)))
            (tmp_path / unit.name).write_text(
                text.replace("/srv/autom8", str(BASE_DIR))
            )

        done = subprocess.run(
            [
                analyze,
                "verify",
                "--man=no",
                "autom8-api.service",
                "autom8-scheduler@1.service",
                "autom8-scheduler@2.service",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert done.returncode == 0, done.stderr
        # verify warns about unknown keys and sections without failing.
        assert done.stderr.strip() == ""


class TestNginxExample:
    def test_nginx_accepts_the_example(self, tmp_path):
        nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
        openssl = shutil.which("openssl")
        if nginx is None or openssl is None:
            pytest.skip("nginx or openssl is not installed")
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=autom8.example.com",
                "-keyout",
                str(tmp_path / "key.pem"),
                "-out",
                str(tmp_path / "cert.pem"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        site = re.sub(
            r"ssl_certificate_key \S+;",
            f"ssl_certificate_key {tmp_path / 'key.pem'};",
            re.sub(
                r"ssl_certificate \S+;",
                f"ssl_certificate {tmp_path / 'cert.pem'};",
                NGINX_CONF.read_text(),
            ),
        )
        (tmp_path / "site.conf").write_text(site)
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
            f"events {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n"
        )

        done = subprocess.run(
            [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert done.returncode == 0, done.stderr

    def test_blocks_are_balanced_and_directives_terminated(self):
        lines = [
            line.split("#", 1)[0].strip()
            for line in NGINX_CONF.read_text().splitlines()
        ]
        code = [line for line in lines if line]

        depth = 0
        for line in code:
            depth += line.count("{") - line.count("}")
            assert depth >= 0
            assert line.endswith(("{", "}", ";")), line
        assert depth == 0

    @pytest.mark.parametrize(
        "directive",
        [
            "proxy_set_header Host $host;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "client_max_body_size 1m;",
            "large_client_header_buffers 4 8k;",
        ],
    )
    def test_proxy_headers_and_limits_are_set(self, directive):
        assert directive in NGINX_CONF.read_text()

    def test_body_limit_matches_the_application_limit(self):
        limit = _env_template()["DATA_UPLOAD_MAX_MEMORY_SIZE"]

        assert int(limit) == 1024 * 1024  # nginx: client_max_body_size 1m


class TestEnvironmentTemplate:
    def test_template_holds_no_secret(self):
        pairs = _env_template()

        assert {name: pairs[name] for name in SECRETS} == dict.fromkeys(SECRETS, "")
        assert pairs["EMAIL_HOST_PASSWORD"] == ""

    def test_template_names_only_documented_variables(self):
        documented = set(
            re.findall(
                r"^#?\s*([A-Z][A-Z0-9_]+)=",
                (BASE_DIR / ".env.example").read_text(),
                re.M,
            )
        )
        gunicorn_own = {"GUNICORN_BIND", "GUNICORN_THREADS", "WEB_CONCURRENCY"}

        assert set(_env_template()) - documented - gunicorn_own == set()

    def test_template_with_secrets_filled_in_passes_the_deploy_check(self, tmp_path):
        env = {k: v for k, v in os.environ.items() if k not in SECRETS}
        env.update({k: v for k, v in _env_template().items() if v})
        env.update(SECRETS)
        env.update(
            AUTOM8_VAR_DIR=str(tmp_path),
            BACKUP_DIR=str(tmp_path / "backups"),
            REPORT_DIR=str(tmp_path / "reports"),
            DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        )

        done = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "check",
                "--deploy",
                "--fail-level",
                "WARNING",
            ],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert done.returncode == 0, done.stderr + done.stdout
