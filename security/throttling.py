"""Rate limits of API_CONTRACT.md §1 as DRF throttles over django-ratelimit.

Counters live in the ``RATELIMIT_USE_CACHE`` cache ("ratelimit"): Redis when
``REDIS_URL`` is set, shared by every node; else node-local SQLite files
under ``CACHE_DIR`` (``security.cache.backends.NodeCache``) shared by the
worker processes of the node. Both increment atomically, and neither evicts
a counter before its window ends. A throttle records what it counted on the request
(``RateLimitState``); ``ResponseEnvelopeMiddleware`` turns that into the
``X-RateLimit-*``, ``RateLimit`` and ``RateLimit-Policy`` headers of the
response, whatever produced it, and DRF answers a refused request with 429
and ``Retry-After`` (rendered by ``security.exceptions``).

When the counter cache cannot be reached:

* the default limit follows ``RATELIMIT_FAIL_OPEN``: true (the default)
  serves the request unlimited and without rate-limit headers; false
  answers 503;
* the login limit always fails closed with 503 "Service Unavailable" and
  ``Retry-After``, so passwords cannot be guessed at full speed while the
  counters are gone. 503 rather than 429: the client is not over any limit,
  the service cannot count, and clients already retry a 503 later.

Discovery routes (``/``, health, info, ``/metrics``) opt out with
``throttle_classes = []``.

DRF throttles only requests that passed authentication and permissions;
``security.exceptions`` runs the view's throttles for a request refused
before them (``throttles_checked`` tells whether they ran), so callers
without a valid token are counted by IP too.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from contract.errors import ServiceUnavailable

logger = logging.getLogger("autom8.ratelimit")

WINDOW_SECONDS = 60
# An IPv6 client usually holds a whole /64: count it as one address.
IPV6_PREFIX = 64
STATE_ATTRIBUTE = "autom8_rate_limit"
CHECKED_ATTRIBUTE = "autom8_rate_limit_checked"
UNAVAILABLE_RETRY_AFTER = 30


class RateLimitUnavailable(ServiceUnavailable):
    """503: the counter cache is down and the limit fails closed."""

    default_message = (
        "Rate limiting is temporarily unavailable. Please try again later."
    )
    headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}


@dataclass(frozen=True)
class RateLimitState:
    """What one limit counted for a request: its policy, quota and window."""

    policy: str
    limit: int
    remaining: int
    reset_in: int
    window: int = WINDOW_SECONDS

    def headers(self, *, now: float) -> dict[str, str]:
        """The §1 rate-limit headers for a response sent at ``now``."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(now) + self.reset_in),
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={self.window}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_in}',
        }


def rate_limit_state(request) -> RateLimitState | None:
    """The state a throttle recorded on this (Django or DRF) request, if any."""
    django_request = getattr(request, "_request", request)
    return getattr(django_request, STATE_ATTRIBUTE, None)


def _record(request: Request, state: RateLimitState) -> None:
    setattr(getattr(request, "_request", request), STATE_ATTRIBUTE, state)


def throttles_checked(request) -> bool:
    """Whether a throttle of this module already saw this (DRF) request."""
    django_request = getattr(request, "_request", request)
    return getattr(django_request, CHECKED_ATTRIBUTE, False)


# --- client identity ----------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address, proxies: tuple[str, ...]) -> bool:
    return any(address in network for network in _networks(proxies))


def _parse_ip(text: str):
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5678"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(request) -> str:
    """The client's address; ``X-Forwarded-For`` only from ``TRUSTED_PROXIES``.

    ``TRUSTED_PROXIES`` holds addresses or CIDR networks. The forwarded
    chain is read from the right, skipping trusted proxies: the first hop
    that is not one is the client (hops further left are client-supplied
    and could be forged).
    """
    remote = _parse_ip(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return "unknown"
    proxies = tuple(settings.TRUSTED_PROXIES)
    if not proxies or not _trusted(remote, proxies):
        return str(remote)
    client = remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _parse_ip(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)


def _ip_key(request) -> str:
    address = client_ip(request)
    if ":" in address:
        network = ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False)
        return f"ip:{network}"
    return f"ip:{address}"


# --- counting -----------------------------------------------------------------


class _CacheDown(Exception):
    pass


def _count(
    request, *, group: str, value: str, limit: int, policy: str
) -> tuple[RateLimitState, bool]:
    """Count one request against ``limit`` per minute: (state, over the limit).

    Raises _CacheDown when the counter cache does not answer.
    """
    try:
        usage = get_usage(
            request,
            group=group,
            key=lambda _group, _request: value,
            rate=(limit, WINDOW_SECONDS),
            increment=True,
        )
    except Exception as exc:
        logger.warning("Rate-limit cache unreachable (%s)", type(exc).__name__)
        raise _CacheDown from exc
    # With RATELIMIT_ENABLE on, get_usage only answers None (fail open) or a
    # zero limit (fail closed) when the cache did not answer.
    if usage is None or usage["limit"] == 0:
        logger.warning("Rate-limit cache unreachable (no counter)")
        raise _CacheDown
    return RateLimitState(
        policy=policy,
        limit=limit,
        remaining=max(0, limit - usage["count"]),
        reset_in=max(0, usage["time_left"]),
    ), usage["should_limit"]


class _LimitThrottle(BaseThrottle):
    """Shared bookkeeping: mark the request seen, remember the refusal's wait."""

    _wait: int | None = None

    def allow_request(self, request: Request, view) -> bool:
        """Whether the request is within the limit; it is counted once."""
        setattr(getattr(request, "_request", request), CHECKED_ATTRIBUTE, True)
        if not settings.RATELIMIT_ENABLE:
            return True
        return self._allow(request)

    def _allow(self, request: Request) -> bool:
        raise NotImplementedError

    def _refuse(self, state: RateLimitState) -> bool:
        self._wait = max(1, state.reset_in)
        return False

    def wait(self) -> int | None:
        """Seconds until the refused client may try again."""
        return self._wait


class DefaultRateThrottle(_LimitThrottle):
    """``RATE_LIMIT_DEFAULT`` per minute per authenticated user, else per IP."""

    policy = "default"

    def _allow(self, request: Request) -> bool:
        user = request.user
        value = (
            f"user:{user.pk}" if user and user.is_authenticated else _ip_key(request)
        )
        try:
            state, over = _count(
                request,
                group="autom8.default",
                value=value,
                limit=settings.RATE_LIMIT_DEFAULT,
                policy=self.policy,
            )
        except _CacheDown:
            if settings.RATELIMIT_FAIL_OPEN:
                return True
            raise RateLimitUnavailable() from None
        _record(request, state)
        return self._refuse(state) if over else True


def login_username(request: Request) -> str | None:
    """The username a token request names, normalised for counting, or None.

    Reading the body here lets malformed JSON and wrong media types surface
    as their own 400/415 (after the IP was counted).
    """
    data = request.data
    return normalised_username(data.get("username") if isinstance(data, dict) else None)


def normalised_username(username: object) -> str | None:
    """``username`` as the login limit counts it (trimmed, casefolded), or None."""
    if not isinstance(username, str) or not username.strip():
        return None
    try:
        username.encode()
    except UnicodeEncodeError:  # a lone surrogate: the view answers 400
        return None
    return username.strip().casefold()


def login_attempt_refused(
    request, *, read_username: Callable[[], str | None]
) -> int | None:
    """Count one login attempt; the seconds to wait when over the limit, else None.

    ``RATE_LIMIT_LOGIN`` per minute per IP and per username, shared by every
    login form (the API's token route, the admin's login page). The IP is
    counted before ``read_username`` runs, so an unreadable body counts too.
    Both counters advance on every attempt; the recorded headers report
    whichever has fewer requests left. Raises RateLimitUnavailable when the
    counters cannot be reached (fails closed).
    """
    if not settings.RATELIMIT_ENABLE:
        return None
    try:
        counted = [_login_count(request, "autom8.login.ip", _ip_key(request))]
        username = read_username()
        if username is not None:
            counted.append(
                _login_count(request, "autom8.login.username", f"user:{username}")
            )
    except _CacheDown:
        raise RateLimitUnavailable() from None
    refused = [state for state, over in counted if over]
    if refused:
        state = max(refused, key=lambda s: s.reset_in)
    else:
        state = min((s for s, _ in counted), key=lambda s: s.remaining)
    _record(request, state)
    return max(1, state.reset_in) if refused else None


def _login_count(request, group: str, value: str) -> tuple[RateLimitState, bool]:
    return _count(
        request,
        group=group,
        value=value,
        limit=settings.RATE_LIMIT_LOGIN,
        policy=LoginRateThrottle.policy,
    )


class LoginRateThrottle(_LimitThrottle):
    """``RATE_LIMIT_LOGIN`` per minute per IP and per username; fails closed.

    Only ``POST`` is counted (see ``login_attempt_refused``).
    """

    policy = "login"

    def _allow(self, request: Request) -> bool:
        if request.method != "POST":
            return True
        wait = login_attempt_refused(
            request, read_username=lambda: login_username(request)
        )
        self._wait = wait
        return wait is None
