"""In-process copies kept while their scope's generation stands."""

import pytest

from security.cache.generations import SHARED_ALIAS, scopes_bump
from security.cache.local import LocalCopies
from tests.servers import free_port


class _Loads:
    """A loader that counts its calls and answers the call number."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


@pytest.mark.django_db
class TestLocalCopies:
    def test_a_copy_is_served_while_the_generation_stands(self):
        copies, load = LocalCopies("contacts", max_age=60), _Loads()
        copies.get("k", load)

        assert (copies.get("k", load), load.calls) == (1, 1)

    def test_a_bump_of_the_scope_drops_the_copies(self):
        copies, load = LocalCopies("contacts", max_age=60), _Loads()
        copies.get("k", load)
        scopes_bump("contacts")

        assert copies.get("k", load) == 2

    def test_a_bump_of_another_scope_keeps_the_copies(self):
        copies, load = LocalCopies("contacts", max_age=60), _Loads()
        copies.get("k", load)
        scopes_bump("task_logs")

        assert copies.get("k", load) == 1

    def test_copies_older_than_max_age_are_loaded_again(self):
        copies, load = LocalCopies("contacts", max_age=0), _Loads()
        copies.get("k", load)

        assert copies.get("k", load) == 2

    def test_without_the_shared_cache_every_lookup_loads(self, settings):
        settings.CACHES = {
            **settings.CACHES,
            SHARED_ALIAS: {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
            },
        }
        copies, load = LocalCopies("contacts", max_age=60), _Loads()
        copies.get("k", load)

        assert copies.get("k", load) == 2

    def test_past_max_entries_values_are_loaded_but_not_kept(self):
        copies, load = LocalCopies("contacts", max_age=60, max_entries=1), _Loads()
        copies.get("first", load)
        copies.get("second", load)

        assert copies.get("second", load) == 3
