from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# Paths that answer without an agent session (the API authenticates its own callers).
PUBLIC_PREFIXES = ("/static/", "/api/", "/healthz", "/metrics", "/connexion", "/favicon.ico")


class LoginRequiredMiddleware:
    """Every agent page needs a session; anything public is listed above or marked
    with `@public` on its view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., HttpResponse], *args: object) -> (
            HttpResponse | None):
        if request.user.is_authenticated or getattr(view_func, "public", False):
            return None
        if request.path.startswith(PUBLIC_PREFIXES):
            return None
        login_url = reverse(settings.LOGIN_URL)
        return HttpResponseRedirect(f"{login_url}?next={quote(request.get_full_path())}")


def public(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    view.public = True  # type: ignore[attr-defined]
    return view
