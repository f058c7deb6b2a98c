from django.apps import AppConfig


class CachingConfig(AppConfig):
    """Read-your-writes page cache: generations, pages, hit and miss counts."""

    name = "caching"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from caching.generations import watch_writes

        connection_created.connect(watch_writes, dispatch_uid="caching.watch_writes")
