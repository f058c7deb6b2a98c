"""``migrate`` alone leaves a deployment ready to serve."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_after_migrate_the_embedded_rate_limit_counters_work(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["AUTOM8_VAR_DIR"] = str(tmp_path)
    _manage(env, "migrate", "--noinput", "-v0")

    result = _manage(
        env,
        "shell",
        "-c",
        "from django.core.cache import caches; c = caches['ratelimit']; "
        "c.set('probe', 41); print(c.get('probe') + 1)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "42"
