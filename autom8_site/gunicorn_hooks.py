"""gunicorn server hooks: one metrics folder shared by every worker.

Run gunicorn with ``--config python:autom8_site.gunicorn_hooks``. The
settings are loaded here, in the master, before any worker is forked: they
export ``PROMETHEUS_MULTIPROC_DIR``, which prometheus-client must see
before it is first imported, so every worker writes its own files there.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autom8_site.settings")

from django.conf import settings

settings.PROMETHEUS_MULTIPROC_DIR  # noqa: B018 - loads the settings, exports the folder

from security.metrics import metrics_dir_prepare, metrics_process_dead  # noqa: E402


def on_starting(server) -> None:
    """Create the metrics folder (0700) and drop files of processes that are gone."""
    metrics_dir_prepare(clean=True)


def child_exit(server, worker) -> None:
    """Forget the live gauges of a worker that exited."""
    metrics_process_dead(worker.pid)
