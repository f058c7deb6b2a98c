"""gunicorn settings for production.

``gunicorn -c deploy/gunicorn.conf.py autom8_site.wsgi``. Web workers run no
task code (the scheduler processes do), so every request is short and the
timeouts can be too. Environment variables of the same name override the
defaults (gunicorn reads ``WEB_CONCURRENCY`` and ``GUNICORN_CMD_ARGS`` itself).
"""

import os

# Metrics of every worker: the hooks clean the shared metrics folder at start
# and forget a dead worker's gauges (the same module ``make run`` passes).
from autom8_site.gunicorn_hooks import child_exit, on_starting  # noqa: F401
from autom8_site.launch import (
    DEFAULT_SERVER_MODEL,
    DEFAULT_THREADS,
    LIMIT_REQUEST_FIELD_SIZE,
    LIMIT_REQUEST_FIELDS,
    LIMIT_REQUEST_LINE,
    default_workers,
)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# The server model make run uses, chosen by measurement (BENCHMARKS.md):
# gthread workers, one per core (WEB_CONCURRENCY overrides), 4 threads each
# for requests that wait on the database or Redis.
workers = default_workers()
worker_class = DEFAULT_SERVER_MODEL
threads = int(os.environ.get("GUNICORN_THREADS", str(DEFAULT_THREADS)))

# A request longer than this is a bug or a stuck backend, not work.
timeout = 30
# SIGTERM: in-flight requests get this long to finish.
graceful_timeout = 10
# Below nginx's upstream keepalive_timeout, so gunicorn never closes a
# connection nginx is about to reuse.
keepalive = 5

# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500

# Limits above the application's own (security/limits.py), the same ones
# ``make run`` uses: an oversized request is refused by the proxy or by the
# application with the API's error envelope, not by gunicorn's HTML page.
limit_request_line = LIMIT_REQUEST_LINE
limit_request_fields = LIMIT_REQUEST_FIELDS
limit_request_field_size = LIMIT_REQUEST_FIELD_SIZE

# X-Forwarded-* are believed from the local nginx only; the application's own
# TRUSTED_PROXIES decides client IPs for rate limits and logs.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# No access log of gunicorn's own: the application writes one JSON line per
# request (security/middleware.py: method, path, route, status, duration,
# user, request id), so a second line from gunicorn would log every request
# twice. Its error log stays: worker starts, exits and timeouts.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
