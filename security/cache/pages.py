"""Rendered GET responses served from the in-process ``pages`` cache.

``cached_page(scope)`` wraps a DRF view's ``get``. It runs inside the view,
so authentication, permissions and rate limits have passed before a page
is looked up, and the outer middleware still times, signs and hardens
every answer, a cached one included. A hit returns the stored status,
headers and body bytes: no ORM query, no decryption, no JSON rendering.

Keys hold the scope's generation (``security.cache.generations``), read before
the data is queried, and the request's absolute URL with its raw query
string and negotiated media type; never the user, so only views whose
answer is the same for every caller allowed to call them may be cached.
Only 200 answers up to ``PAGE_MAX_BYTES`` are stored, for ``CACHE_TTL``
seconds (0 turns the cache off). ``PageCache`` holds them: Django's local
memory cache, bounded by total size as well as by entry count.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpResponse
from rest_framework.request import Request

from security.cache.generations import scope_generation
from security.metrics import cache_lookup_record

PAGES_ALIAS = "pages"
PAGE_MAX_BYTES = 256 * 1024


class PageCache(LocMemCache):
    """LocMemCache whose entries also stay under ``OPTIONS["MAX_BYTES"]``.

    Every process holds its own copy, so the size bounds each worker's
    memory: the least recently used pages go first when a new one would
    pass it.
    """

    def __init__(self, name: str, params: dict) -> None:
        super().__init__(name, params)
        self._max_bytes = int(params["OPTIONS"]["MAX_BYTES"])

    def _set(self, key, value, timeout=DEFAULT_TIMEOUT) -> None:
        # Called with the lock held; values are pickled bytes, most recently
        # used first.
        super()._set(key, value, timeout)
        size = sum(map(len, self._cache.values()))
        while size > self._max_bytes and len(self._cache) > 1:
            old_key, old_value = self._cache.popitem()
            del self._expire_info[old_key]
            size -= len(old_value)


def page_key(*, scope: str, generation: int, request: Request) -> str:
    """The cache key of ``request``'s answer under ``generation`` of ``scope``."""
    identity = "\n".join(
        (
            request.build_absolute_uri(request.path),
            request.META.get("QUERY_STRING", ""),
            str(getattr(request, "accepted_media_type", "")),
        )
    )
    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()
    return f"page:{scope}:{generation}:{digest}"


def _replay(stored: tuple) -> HttpResponse:
    status, headers, content = stored
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    return response


def cached_page(scope: str) -> Callable:
    """Decorate a DRF ``get`` so its 200 answers are cached under ``scope``."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def serve(view, request: Request, *args, **kwargs):
            ttl = settings.CACHE_TTL
            generation = scope_generation(scope) if ttl else None
            if generation is None:  # cache off, or the shared cache is down
                return handler(view, request, *args, **kwargs)
            key = page_key(scope=scope, generation=generation, request=request)
            pages = caches[PAGES_ALIAS]
            stored = pages.get(key)
            cache_lookup_record(hit=stored is not None)
            if stored is not None:
                return _replay(stored)
            response = view.finalize_response(
                request, handler(view, request, *args, **kwargs), *args, **kwargs
            )
            if response.status_code == 200 and hasattr(response, "render"):
                response.render()
                if len(response.content) <= PAGE_MAX_BYTES:
                    stored = (200, tuple(response.items()), response.content)
                    pages.set(key, stored, timeout=ttl)
            return response

        return serve

    return decorate
