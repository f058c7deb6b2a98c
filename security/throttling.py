"""DRF throttle classes backed by django-ratelimit (filled in by the security work)."""

from rest_framework.throttling import BaseThrottle


class DefaultRateThrottle(BaseThrottle):
    """RATE_LIMIT_DEFAULT per minute per user or client IP."""

    def allow_request(self, request, view) -> bool:
        return True
