"""Drop the database table that held rate-limit counters before NodeCache.

Counters now live in Redis or in node-local files (``CACHE_DIR``); the
table ``0001_cache_tables`` created is no longer read by anything.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("security", "0002_revoked_token")]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS autom8_ratelimit", migrations.RunSQL.noop
        )
    ]
