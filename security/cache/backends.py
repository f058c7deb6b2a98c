"""The node-local shared cache backend of the embedded default."""

from __future__ import annotations

from diskcache import DjangoCache


class NodeCache(DjangoCache):
    """``diskcache.DjangoCache`` whose SQLite connections outlive a request.

    Django closes every cache when a request finishes; for diskcache that
    closes its SQLite connections, and reopening them (connect and pragmas)
    cost milliseconds on every request. The connections are per thread and
    reopened after a fork by diskcache itself, so keeping them is safe.
    """

    def close(self, **kwargs) -> None:
        """Keep the connections open (see the class docstring)."""
