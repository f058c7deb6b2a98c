"""Create the database cache tables (the embedded rate-limit counters).

Part of ``migrate`` so that a deployment following only the usual steps
(migrate, collectstatic, gunicorn) has them; without Redis the login limit
fails closed when its table is missing. ``createcachetable`` skips tables
that exist and caches that are not database-backed.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
