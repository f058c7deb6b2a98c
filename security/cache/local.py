"""In-process copies of database rows, valid while their scope's generation stands.

Some rows are read on nearly every request and change rarely: the
authenticated user, the set of revoked tokens. ``LocalCopies`` keeps them in
the worker's memory, keyed as the caller likes, and drops them all as soon
as the scope's shared generation (``security.cache.generations``) moves,
which every committed write to the scope's table does, from any process
on any node. Each lookup reads the generation first (one shared-cache
read, no query) and loads a missing value after that read, so a write
committed meanwhile always leads to a reload: the same argument as for
cached pages.

``max_age`` bounds how long a copy outlives a generation bump that was lost
(the shared cache was down when the write committed). While the shared
cache does not answer, every lookup loads: a copy is never trusted without
its generation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from security.cache.generations import scope_generation

T = TypeVar("T")


@dataclass
class _Copies(Generic[T]):
    generation: int | None
    loaded_at: float
    values: dict[Hashable, T] = field(default_factory=dict)


class LocalCopies(Generic[T]):
    """Values derived from ``scope``'s table, kept while its generation stands."""

    def __init__(self, scope: str, *, max_age: float, max_entries: int = 1024) -> None:
        self.scope = scope
        self.max_age = max_age
        self.max_entries = max_entries
        self._copies: _Copies[T] = _Copies(generation=None, loaded_at=0.0)

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The copy of ``key`` under the current generation, else ``load()``."""
        generation = scope_generation(self.scope)
        if generation is None:  # the shared cache is down: trust no copy
            return load()
        copies = self._copies
        now = time.monotonic()
        if copies.generation != generation or now - copies.loaded_at >= self.max_age:
            # Replaced, never changed in place: a thread still holding the
            # old object stores its (older) value where nobody looks again.
            copies = _Copies(generation=generation, loaded_at=now)
            self._copies = copies
        try:
            return copies.values[key]
        except KeyError:
            pass
        value = load()
        if len(copies.values) < self.max_entries:
            copies.values[key] = value
        return value

    def forget(self) -> None:
        """Drop every copy of this process (tests that rewrite tables directly)."""
        self._copies = _Copies(generation=None, loaded_at=0.0)
