from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from proactif.accounts import services as accounts
from proactif.accounts.domain import PURPOSES
from proactif.audit import services as audit
from proactif.kernel import clock, tables
from proactif.kernel.ids import parse_id

# the CSV of the journal is `log_csv` (streamed, any size, itself logged): the table has no export of its own
LOG_COLUMNS = (
    tables.Column("date", "Date", sort="at"), tables.Column("acteur", "Acteur"), tables.Column("service", "Service"),
    tables.Column("personne", "Personne"), tables.Column("finalite", "Finalité"), tables.Column("action", "Action"),
    tables.Column("rubrique", "Rubrique"),
)


def _filter(request: HttpRequest) -> tuple[audit.LogFilter, list[str]]:
    errors = []

    def day(name: str) -> date | None:
        raw = request.GET.get(name, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors.append(f"date invalide : {raw}")
            return None

    person = request.GET.get("personne", "").strip()
    if person and not (person.isascii() and person.isdigit() and len(person) <= 18):
        errors.append("le numéro de personne est un nombre")
        person = ""
    return audit.LogFilter(person_id=int(person) if person else None, actor=request.GET.get("acteur", "").strip(),
                           service=request.GET.get("service", ""), purpose=request.GET.get("finalite", ""),
                           action=request.GET.get("action", ""), since=day("du"), until=day("au")), errors


@require_GET
def log(request: HttpRequest) -> HttpResponse:
    f, errors = _filter(request)
    table = tables.Table(request, audit.search(f), LOG_COLUMNS, caption="Journal des accès", default_sort="-date",
                         count="ligne|lignes|aucune ligne")
    return render(request, "audit/log.html", {
        "table": table, "f": f, "errors": errors,
        "service_names": {service.code: service.name for service in accounts.list_services()},
        "services": accounts.list_services(), "purposes": sorted(PURPOSES.items()), "actions": audit.actions()})


@require_GET
def log_csv(request: HttpRequest) -> StreamingHttpResponse:
    f, _ = _filter(request)
    audit.record(request.actor, "export_log", purpose="rgpd", detail={"filter": {
        k: str(v) for k, v in f.__dict__.items() if v}})
    response = StreamingHttpResponse(audit.export_csv(f), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="journal-acces-{clock.today().isoformat()}.csv"'
    return response


@require_http_methods(["GET", "POST"])
def rights(request: HttpRequest) -> HttpResponse:
    raw = (request.POST.get("personne") or request.GET.get("personne") or "").strip()
    person_id = parse_id(raw)  # « 0 », « -3 » or 19 digits are no person's number: the form says so
    try:
        plan = audit.erasure_plan(person_id, seen_by=request.actor) if person_id else []
    except LookupError:
        raise Http404(f"personne {person_id} inconnue") from None
    if request.method == "POST" and person_id:
        if request.POST.get("action") == "export":
            data = audit.export_person(request.actor, person_id)
            response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2, default=str),
                                    content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="donnees-personne-{person_id}.json"'
            return response
        if request.POST.get("action") == "erase":
            reason = request.POST.get("motif", "")
            try:
                audit.erase_person(request.actor, person_id, reason)
            except ValueError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"Demande d'effacement appliquée pour la personne n° {person_id}.")
                return redirect(f"{request.path}?personne={person_id}")
    return render(request, "audit/rights.html", {"person_id": person_id, "raw": raw, "plan": plan,
                                                 "invalid": bool(raw) and person_id is None},
                  status=400 if request.method == "POST" else 200)
