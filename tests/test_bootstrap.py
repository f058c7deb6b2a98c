"""``migrate`` alone leaves a deployment ready to serve."""

import os

from tests.servers import manage_py


def test_after_migrate_the_embedded_rate_limit_counters_work(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["AUTOM8_VAR_DIR"] = str(tmp_path)
    manage_py(env, "migrate", "--noinput", "-v0")

    result = manage_py(
        env,
        "shell",
        "-c",
        "from django.core.cache import caches; c = caches['ratelimit']; "
        "c.set('probe', 41); print(c.get('probe') + 1)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "42"
