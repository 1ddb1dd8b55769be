"""The public site's own pages beside the CMS's: search, themes, cookies and interests. Public by nature: no
resident's data, nothing tied to a visitor but what they chose themselves."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.assist import services
from proactif.assist.models import Theme


def _back(request: HttpRequest, default: str = "/site/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    if len(query) > 500:
        return render(request, "assist/search.html", {**services.frame(request), "query": query[:500],
                                                      "error": "Votre recherche est trop longue : 500 caractères "
                                                               "au plus."}, status=400)
    found = services.search(query)
    return render(request, "assist/search.html", {**services.frame(request), **found})


@require_GET
def theme(request: HttpRequest, slug: str) -> HttpResponse:
    chosen = get_object_or_404(Theme, slug=slug)
    services.count(request.path)
    return render(request, "assist/theme.html", {**services.frame(request), **services.theme_data(request, chosen)})


@require_http_methods(["GET", "POST"])
def cookies(request: HttpRequest) -> HttpResponse:
    """The consent manager as a page (the footer's « Gestion des cookies » without JavaScript) and the form every
    version of it posts to: the banner's two buttons, the modal's choices."""
    if request.method == "POST":
        choices = services.consent.parse_choices(request.POST)
        if request.headers.get("X-Requested-With") == "fetch":  # our script: the banner closes in place
            response = HttpResponse(status=204)
        else:
            response = HttpResponseRedirect(_back(request))
        services.consent.record(request, choices, response)
        return response
    return render(request, "assist/cookies.html", {**services.frame(request), "next": _back(request)})


@require_http_methods(["GET", "POST"])
def interests(request: HttpRequest) -> HttpResponse:
    themes = list(Theme.objects.all())
    if request.method == "POST":
        response = HttpResponseRedirect(request.path + "?enregistre=1")
        services.keep_interests(response, request, request.POST.getlist("themes"))
        return response
    return render(request, "assist/interests.html", {
        **services.frame(request), "themes": themes, "chosen": services.chosen_interests(request),
        "saved": request.GET.get("enregistre") == "1"})


@require_POST
def forget_interests(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect("/site/mes-centres-d-interet/?enregistre=1")
    services.keep_interests(response, request, [])
    return response


@require_GET
def editorial(request: HttpRequest) -> HttpResponse:
    """The communication service's page: its site's figures and the way to the CMS."""
    return render(request, "assist/editorial.html", {"figures": services.editorial_figures()})
