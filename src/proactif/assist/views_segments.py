"""The editors' pages on personalisation: the segments they define (with the size preview) and the measure of
personalisation against its control group. Totals only: no agent ever sees one visitor's profile."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from proactif.assist import _measure, _questions, _segments
from proactif.assist import _segment_rules as rules_
from proactif.assist._rules import EDITORS
from proactif.assist.models import Segment, Theme
from proactif.audit import services as audit
from proactif.kernel.capabilities import Route, route

SLUG_HELP = "Lettres minuscules, chiffres et tirets."


def _audit(request: HttpRequest, action: str, detail: dict[str, Any]) -> None:
    """Counting profiles reads personal data in aggregate: the read is logged like any other."""
    access = getattr(request, "access", None)
    if access is not None:
        audit.record(access.actor, action, purpose=access.purpose, detail=detail)


@require_GET
def segments(request: HttpRequest) -> HttpResponse:
    rows = _segments.listing()
    _audit(request, "assist.segments.tailles", {"segments": len(rows)})
    return render(request, "assist/segments.html", {"rows": rows, "min_size": _segments.MIN_SIZE,
                                                    "saved": request.GET.get("enregistre", "")})


def _help() -> dict[str, Any]:
    return {"themes": list(Theme.objects.values_list("slug", "name")),
            "questions": [(q.key, q.label, ", ".join(v for v, _ in _questions.choices(q)))
                          for q in _questions.QUESTIONS],
            "kinds": rules_.EVENT_KINDS}


@require_http_methods(["GET", "POST"])
def segment_form(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    segment = get_object_or_404(Segment, slug=slug) if slug else None
    errors: dict[str, str] = {}
    preview = None
    if request.method == "POST":
        # PostgreSQL's text holds no NUL
        values = {k: request.POST.get(k, "").replace("\x00", "").strip() for k in ("slug", "name", "description",
                                                                                    "rules")}
        if segment is not None:
            values["slug"] = segment.slug
        if not rules_.SLUG.fullmatch(values["slug"]):
            errors["slug"] = f"Identifiant attendu : 1 à 60 caractères. {SLUG_HELP}"
        elif segment is None and Segment.objects.filter(slug=values["slug"]).exists():
            errors["slug"] = "Un segment porte déjà cet identifiant."
        if not values["name"]:
            errors["name"] = "Donnez un nom au segment."
        elif len(values["name"]) > 100:
            errors["name"] = "Le nom tient en 100 caractères au plus."
        try:
            conditions = _segments.check(values["rules"])
        except rules_.RuleError as exc:
            errors["rules"] = str(exc)[:1].upper() + str(exc)[1:] + "."
            conditions = []
        if not errors and request.POST.get("action") == "apercu":
            preview = _segments.preview(conditions, fresh=True)
            _audit(request, "assist.segments.apercu", {"segment": values["slug"]})
        elif not errors:
            try:
                saved = _segments.save(values["slug"], values["name"], values["description"], conditions,
                                       request.user.get_username(), segment)
            except IntegrityError:
                errors["slug"] = "Un segment porte déjà cet identifiant."
            else:
                return HttpResponseRedirect(f"/redaction/segments/?enregistre={saved.slug}")
        status = 400 if errors else 200
    else:
        status = 200
        values = {"slug": segment.slug if segment else "", "name": segment.name if segment else "",
                  "description": segment.description if segment else "",
                  "rules": json.dumps(segment.rules if segment else [{"choisi": "seniors"}], ensure_ascii=False,
                                      indent=2)}
    return render(request, "assist/segment_form.html", {
        "segment": segment, "values": values, "errors": errors, "preview": preview, "min_size": _segments.MIN_SIZE,
        **_help()}, status=status)


@require_GET
def personalisation(request: HttpRequest) -> HttpResponse:
    days = 30
    raw = request.GET.get("jours", "")
    if raw.isdigit() and 1 <= int(raw) <= 400:
        days = int(raw)
    return render(request, "assist/measure.html", {"m": _measure.measure(days)})


ROUTES: tuple[Route, ...] = (
    route("segments/", segments, EDITORS, "segments"),
    route("segments/nouveau/", segment_form, EDITORS, "segment_new"),
    route("segments/<slug:slug>/", segment_form, EDITORS, "segment_edit"),
    route("personnalisation/", personalisation, EDITORS, "personalisation"),
)
