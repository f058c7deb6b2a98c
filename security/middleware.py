"""Headers every response carries (filled in by the security work)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ResponseEnvelopeMiddleware:
    """Times, identifies, signs and hardens every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
