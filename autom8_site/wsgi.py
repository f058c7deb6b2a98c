"""WSGI entry point (gunicorn autom8_site.wsgi)."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

from autom8_site.worker_imports import (
    django_test_signals_preload,
    postgres_driver_hide,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autom8_site.settings")

try:
    # Before the apps load, which would import both.
    django_test_signals_preload()
    postgres_driver_hide()
    django_application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # One clear line instead of a traceback per worker; gunicorn stops when
    # a worker exits with its boot-error code (3).
    sys.stderr.write(f"autom8: configuration error: {exc}\n")
    sys.exit(3)

# After settings are loaded.
from security.chunked import ChunkedBodyMiddleware
from security.server_errors import install_gunicorn_error_writer

# Chunked request bodies are read before Django sees the request.
application = ChunkedBodyMiddleware(django_application)
if "gunicorn" in sys.modules:
    # Requests gunicorn refuses itself get the envelope and §1 headers too.
    install_gunicorn_error_writer()
