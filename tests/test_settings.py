"""Settings come from the environment; secrets are generated only in development."""

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.servers import manage_py

SECRET_NAMES = (
    "SECRET_KEY",
    "JWT_SIGNING_KEY",
    "RESPONSE_SIGNING_KEY",
    "BLIND_INDEX_KEY",
    "FIELD_ENCRYPTION_KEYS",
)


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    env.update(
        AUTOM8_ENV="production",
        AUTOM8_VAR_DIR=str(tmp_path),
        ALLOWED_HOSTS="api.example.com",
        SECRET_KEY="s" * 20 + "ecret-key-with-enough-entropy-0123456789-abcdefghijkl",
        JWT_SIGNING_KEY="j" * 40,
        RESPONSE_SIGNING_KEY="r" * 40,
        BLIND_INDEX_KEY="b" * 40,
        FIELD_ENCRYPTION_KEYS=base64.urlsafe_b64encode(b"k" * 32).decode(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    env.update(overrides)
    return env


def _dev_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    env.update(AUTOM8_ENV="development", AUTOM8_VAR_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    return env


def test_development_generates_secrets_once_with_private_mode(tmp_path):
    result = manage_py(_dev_env(tmp_path), "check")

    assert result.returncode == 0, result.stderr
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == set(SECRET_NAMES)


def test_development_reuses_generated_secrets_across_starts(tmp_path):
    manage_py(_dev_env(tmp_path), "check")
    first = (tmp_path / "secrets.json").read_text()

    manage_py(_dev_env(tmp_path), "check")

    assert (tmp_path / "secrets.json").read_text() == first


def test_environment_value_wins_over_generated_secret(tmp_path):
    env = _dev_env(tmp_path)
    env["JWT_SIGNING_KEY"] = "x" * 48

    result = manage_py(
        env,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.JWT_SIGNING_KEY)",
    )

    assert result.stdout.strip().splitlines()[-1] == "x" * 48


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_production_refuses_to_start_without_a_secret(tmp_path, name):
    env = _production_env(tmp_path)
    del env[name]

    result = manage_py(env, "check")

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0]
    assert not (tmp_path / "secrets.json").exists()


def test_production_refuses_a_malformed_fernet_key(tmp_path):
    env = _production_env(tmp_path, FIELD_ENCRYPTION_KEYS="not-a-fernet-key")

    result = manage_py(env, "check")

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr.strip().splitlines()[-1]


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    env = _production_env(tmp_path)
    del env["ALLOWED_HOSTS"]

    result = manage_py(env, "check")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_deploy_check_passes_with_a_production_environment(tmp_path):
    result = manage_py(
        _production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_passwords_are_hashed_with_pbkdf2_sha256():
    from autom8_site import settings as configured

    assert (
        configured.PASSWORD_HASHERS[0]
        == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    )


def _hsts_flags(env: dict[str, str]) -> str:
    result = manage_py(
        env,
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_hsts_subdomains_and_preload_are_off_by_default_in_production(tmp_path):
    flags = _hsts_flags(_production_env(tmp_path))

    assert flags == "False False"


def test_hsts_subdomains_and_preload_are_switched_on_from_the_environment(tmp_path):
    env = _production_env(
        tmp_path, SECURE_HSTS_INCLUDE_SUBDOMAINS="true", SECURE_HSTS_PRELOAD="true"
    )

    flags = _hsts_flags(env)

    assert flags == "True True"


def _cache_ttl(tmp_path: Path, value: str | None) -> subprocess.CompletedProcess:
    env = _dev_env(tmp_path)
    env.pop("CACHE_TTL", None)
    if value is not None:
        env["CACHE_TTL"] = value
    code = "from django.conf import settings; print(settings.CACHE_TTL)"
    return manage_py(env, "shell", "--no-imports", "-c", code)


def test_cache_ttl_defaults_to_five_minutes(tmp_path):
    result = _cache_ttl(tmp_path, None)

    assert result.stdout.strip() == "300", result.stderr


def test_cache_ttl_is_read_from_the_environment(tmp_path):
    result = _cache_ttl(tmp_path, "42")

    assert result.stdout.strip() == "42", result.stderr


def test_a_negative_cache_ttl_stops_start_up_naming_it(tmp_path):
    result = _cache_ttl(tmp_path, "-1")

    assert result.returncode != 0
    assert "CACHE_TTL" in result.stderr
