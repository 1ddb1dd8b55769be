"""The consenting visitor's side of personalisation: the events endpoint their browser posts to, and « Pourquoi je
vois ceci » where they see what orders their pages and reset or delete their profile."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from proactif.assist import services
from proactif.assist._rules import VISITOR
from proactif.kernel.capabilities import Route, route


@csrf_exempt  # same-origin checked instead (Origin/Referer), so that navigator.sendBeacon can post
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    return services.receive_events(request)


@require_GET
def why(request: HttpRequest) -> HttpResponse:
    done = request.GET.get("fait", "")
    return render(request, "assist/why.html", {**services.frame(request), **services.why_data(request),
                                               "done": done if done in ("reinitialise", "supprime") else ""})


@require_POST
def why_reset(request: HttpRequest) -> HttpResponse:
    profile = services.profiles.named_by_cookie(request)
    if profile is not None:
        services.profiles.reset(profile)
    return HttpResponseRedirect("/site/pourquoi/?fait=reinitialise")


@require_POST
def why_delete(request: HttpRequest) -> HttpResponse:
    """The profile deleted — even when consent was withdrawn meanwhile — and the cookie cleared."""
    profile = services.profiles.named_by_cookie(request)
    if profile is not None:
        services.profiles.delete(profile)
    response = HttpResponseRedirect("/site/pourquoi/?fait=supprime")
    services.profiles.forget_cookie(response)
    return response


ROUTES: tuple[Route, ...] = (
    route("evenements/", events, VISITOR, "events"),
    route("pourquoi/", why, VISITOR, "why"),
    route("pourquoi/reinitialiser/", why_reset, VISITOR, "why_reset"),
    route("pourquoi/supprimer/", why_delete, VISITOR, "why_delete"),
)
