"""A web worker's imports, kept to what serving requests needs.

Both functions run in ``autom8_site.wsgi`` before the apps load; commands,
the scheduler and the tests import as usual.

``rest_framework_simplejwt.settings`` imports ``setting_changed`` from
``django.test.signals`` (DRF imports it from ``django.core.signals``,
"to avoid importing the test module unnecessarily"). Importing a submodule
runs its package first, and ``django.test``'s ``__init__`` loads the test
client and test cases, and with them ``unittest``, ``jinja2``, ``xml.dom``
and the development server: about 4 MB in every worker.

DRF imports ``django.contrib.postgres.fields`` when it can
(``rest_framework.compat``, for ``ModelSerializer``'s field mapping), which
imports psycopg with its bundled libpq and OpenSSL: about 10 MB in every
worker, though a worker on SQLite never talks to PostgreSQL.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import django
from django.conf import settings

SQLITE_ENGINE = "django.db.backends.sqlite3"
POSTGRES_DRIVERS = ("psycopg", "psycopg2")


def django_test_signals_preload() -> None:
    """Load ``django/test/signals.py`` under its name without its package.

    A later ``import django.test`` (schema generation) still runs the
    package, whose modules then find this one in ``sys.modules``: the same
    signals and receivers either way. Nothing is done once the package or
    the module is loaded (the test suite).
    """
    name = "django.test.signals"
    if "django.test" in sys.modules or name in sys.modules:
        return
    folder = str(Path(django.__file__).resolve().parent / "test")
    spec = importlib.machinery.PathFinder.find_spec(name, [folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


def postgres_driver_hide() -> None:
    """Make psycopg unimportable when every database is SQLite.

    A ``None`` in ``sys.modules`` makes ``import`` raise ModuleNotFoundError,
    as if psycopg were not installed: DRF then leaves the PostgreSQL fields
    out of its mapping (no model here has one). Loads the settings.
    """
    if any(db["ENGINE"] != SQLITE_ENGINE for db in settings.DATABASES.values()):
        return
    for name in POSTGRES_DRIVERS:
        sys.modules.setdefault(name, None)
