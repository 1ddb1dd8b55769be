"""The resident's page reached by a signed link (issue 20, part E): `/site/pour-vous/`, what concerns them in the
registry for 30 minutes at most (`_resident`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from proactif.assist import _resident, services
from proactif.kernel.capabilities import LinkTarget, Route, public, route, signed_link

RESIDENT = signed_link(_resident.LINK_PURPOSE, refusal="assist/resident_no_link.html")
# « Terminer » only empties this browser's own session: it must work after the 30 minutes too
END = public("termine la session de l'habitant dans son propre navigateur : n'affiche et ne lit aucune donnée")


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _expired(request: HttpRequest) -> HttpResponse:
    return _private(render(request, "assist/resident_expired.html", {**services.frame(request),
                                                                     "minutes": _resident.SESSION_MINUTES},
                           status=403))


def _page(request: HttpRequest, visit: _resident.Visit, error: str = "", status: int = 200) -> HttpResponse:
    sections = [{"label": s.label, "items": [{"item": i, "when": _resident.when_label(i.when)} for i in s.items]}
                for s in _resident.concerns(visit)]
    return _private(render(request, "assist/resident.html", {
        **services.frame(request), "prenom": _resident.first_name(visit.person_id), "sections": sections,
        "ends_at": visit.ends_at, "minutes": _resident.SESSION_MINUTES, "error": error}, status=status))


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    visit = _resident.visit(request)
    if visit is None:
        return _expired(request)
    return _page(request, visit)


@require_POST
def follow(request: HttpRequest) -> HttpResponse:
    """An item's button: its démarche, opened for the same person (never one the form names)."""
    visit = _resident.visit(request)
    if visit is None:
        return _expired(request)
    try:
        target = _resident.follow(request, visit, request.POST.get("cle", "")[:100])
    except _resident.NotOffered:
        return _page(request, visit, "Cette démarche ne vous est plus proposée : la page a été mise à jour.",
                     status=400)
    return redirect(target)


@require_POST
def finish(request: HttpRequest) -> HttpResponse:
    _resident.end(request)
    return _private(render(request, "assist/resident_ended.html", services.frame(request)))


ROUTES: tuple[Route, ...] = (
    route("pour-vous/", page, RESIDENT, "resident"),
    route("pour-vous/demarche/", follow, RESIDENT, "resident_follow"),
    route("pour-vous/terminer/", finish, END, "resident_end"),
)
LINK_TARGETS: tuple[LinkTarget, ...] = (LinkTarget(_resident.LINK_PURPOSE, "assist:resident"),)
