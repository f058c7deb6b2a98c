"""The admin site, its login under the API's login limit.

Staff users are the API's ``admin`` role with the same password, so the
admin login form counts against the same ``RATE_LIMIT_LOGIN`` counters as
``POST /api/v1/auth/token`` (per IP and per username). A refused attempt
never checks the password: it answers 429 with ``Retry-After`` and says so
in the form; with the counters unreachable it fails closed with 503.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from security.exceptions import keep_own_body
from security.throttling import (
    UNAVAILABLE_RETRY_AFTER,
    RateLimitUnavailable,
    login_attempt_refused,
    normalised_username,
)

RATE_LIMITED_MESSAGE = (
    "Too many sign-in attempts for this address or username. "
    "Please try again in %(seconds)s seconds."
)
UNAVAILABLE_MESSAGE = "Sign-in is temporarily unavailable. Please try again later."


class RateLimitedLoginForm(AdminAuthenticationForm):
    """The admin login form; over the login limit it refuses before authenticating."""

    retry_after: int | None = None
    refusal_status: int | None = None

    def clean(self) -> dict:
        """Count the attempt, then check the credentials only when within limits."""
        try:
            wait = login_attempt_refused(
                self.request,
                read_username=lambda: normalised_username(self.data.get("username")),
            )
        except RateLimitUnavailable:
            self.refusal_status, self.retry_after = 503, UNAVAILABLE_RETRY_AFTER
            raise ValidationError(UNAVAILABLE_MESSAGE, code="unavailable") from None
        if wait is not None:
            self.refusal_status, self.retry_after = 429, wait
            raise ValidationError(
                RATE_LIMITED_MESSAGE, code="rate_limited", params={"seconds": wait}
            )
        return super().clean()


class Autom8AdminSite(AdminSite):
    """Django's admin site with a rate-limited login."""

    login_form = RateLimitedLoginForm

    def login(self, request: HttpRequest, extra_context: dict | None = None):
        """The login page; a refused attempt answers 429 (or 503) with Retry-After."""
        response = super().login(request, extra_context)
        form = getattr(response, "context_data", {}).get("form")
        status = getattr(form, "refusal_status", None)
        if isinstance(response, HttpResponse) and status is not None:
            response.status_code = status
            response["Retry-After"] = str(form.retry_after)
            keep_own_body(response)
        return response
