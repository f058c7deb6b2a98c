"""The in-process page store: bounded by total size as well as by entry count."""

import pickle
import uuid

from security.cache.pages import PageCache

PAGE = b"x" * 1000
PAGE_SIZE = len(pickle.dumps(PAGE, PageCache.pickle_protocol))


def page_cache(*, pages: int) -> PageCache:
    """A fresh cache with room for ``pages`` pages of PAGE_SIZE bytes."""
    return PageCache(
        f"test-pages-{uuid.uuid4()}",
        {"OPTIONS": {"MAX_ENTRIES": 100, "MAX_BYTES": pages * PAGE_SIZE}},
    )


def test_a_page_past_the_size_limit_evicts_the_least_recently_used():
    cache = page_cache(pages=2)
    cache.set("first", PAGE)
    cache.set("second", PAGE)

    cache.set("third", PAGE)

    assert cache.get("first") is None
    assert cache.get("second") == PAGE
    assert cache.get("third") == PAGE


def test_a_page_read_recently_is_kept_over_an_older_one():
    cache = page_cache(pages=2)
    cache.set("first", PAGE)
    cache.set("second", PAGE)
    cache.get("first")

    cache.set("third", PAGE)

    assert cache.get("first") == PAGE
    assert cache.get("second") is None


def test_pages_within_the_size_limit_are_all_kept():
    cache = page_cache(pages=3)

    for key in ("first", "second", "third"):
        cache.set(key, PAGE)

    assert [cache.get(key) for key in ("first", "second", "third")] == [PAGE] * 3
