"""Rights detection in the agent interface (screening runs, detections, explanations, outreach and take-up)
and the citizen's page reached from the information message (ask for an appointment, or refuse)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.kernel import clock, tables
from proactif.kernel.ids import parse_id
from proactif.kernel.text import count_fr
from proactif.registry import services as registry
from proactif.rights import services

CONFIDENCES = (("haute", "Haute"), ("moyenne", "Moyenne"), ("faible", "Faible"))
OUTREACH_COLUMNS = (
    tables.Column("date", "Informé le", sort="created_at", value="created_at"),
    tables.Column("habitant", "Habitant", value="name"),
    tables.Column("droits", "Droits possibles", export=False),
    tables.Column("etat", "État", value=lambda o: o.get_status_display()),
    tables.Column("suivi", "Suivi du recours", export=False),
    tables.Column("actions", "Actions", export=False),
)
NO_AMOUNT = ("css_gratuite",)  # a health cover, not a monthly sum
DETECTION_COLUMNS = (
    tables.Column("foyer", "Foyer", value="household_name"),
    tables.Column("prestation", "Prestation", sort="benefit", value="benefit_label"),
    tables.Column("montant", "Montant estimé (€ par mois)", sort="amount", numeric=True,
                  value=lambda a: None if a.benefit in NO_AMOUNT else a.amount),
    tables.Column("precedent", "Mois précédent (€)", sort="previous_amount", numeric=True,
                  value=lambda a: None if a.benefit in NO_AMOUNT else a.previous_amount),
    tables.Column("quartier", "Quartier", value="quartier_name"),
    tables.Column("confiance", "Confiance", value="confidence_label"),
)


@require_http_methods(["GET", "POST"])
def runs(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    period = request.POST.get("period") or clock.today().strftime("%Y-%m")
    chosen = request.POST.getlist("benefits") if request.method == "POST" else list(services.BENEFITS)
    if request.method == "POST" and not request.POST.get("period"):
        errors["period"] = "indiquez le mois à cribler (AAAA-MM)"
    elif request.method == "POST":
        try:
            run = services.start_run(period, benefits=chosen or None, started_by=request.actor.label)
        except services.RightsError as exc:
            errors[exc.field or "period"] = str(exc)
        else:
            messages.success(request, f"Criblage lancé : {run.households_total} foyers en {run.chunks_total} lot(s).")
            return redirect("rights:run", run_id=run.pk)
    return render(request, "rights/runs.html", {
        "runs": services.runs(), "period": period, "chosen": chosen, "errors": errors,
        "benefits": [(b, services.label(b)) for b in services.all_benefits()], "funnel": services.funnel()},
        status=400 if errors else 200)


@require_GET
def run(request: HttpRequest, run_id: int) -> HttpResponse:
    try:
        screening_run = services.get_run(run_id)
    except LookupError:
        raise Http404("criblage inconnu") from None
    if request.GET.get("live"):  # the part that refreshes itself while the run goes on: no one named
        return render(request, "rights/_progress.html", {"run": screening_run})
    filters = _filters(request)
    access = request.access
    quartiers = {q.pk: q.nom for q in registry.quartiers()}
    labels = services.labels()
    confidences = dict(CONFIDENCES)

    def prepare(rows: list[Any], action: str) -> list[Any]:
        household_ids = [a.household_id for a in rows]
        services.log_detections_view(access, household_ids, action)
        names = registry.household_names(access, household_ids, action)
        for a in rows:
            a.household_name = names.get(a.household_id) or f"Foyer n° {a.household_id}"
            a.benefit_label, a.confidence_label = labels.get(a.benefit, a.benefit), confidences.get(a.confidence, "")
            a.quartier_name = quartiers.get(a.quartier_id, "")
        return rows

    table = tables.Table(request, services.detections(screening_run, **filters), DETECTION_COLUMNS,
                         caption="Foyers détectés", default_sort="-montant", export=f"detections-{screening_run.pk}",
                         count="détection|détections|aucune détection", prepare=prepare)
    if table.export_requested:
        return table.csv_response()
    summary = [(b, services.label(b), screening_run.summary.get(b, {})) for b in screening_run.benefits]
    return render(request, "rights/run.html", {
        "run": screening_run, "summary": summary, "table": table, "filters": filters,
        "households": services.detected_households(screening_run, **filters),
        "quartier_chart": services.quartier_chart(screening_run) if screening_run.status == "done" else None,
        "quartiers": quartiers,
        "labels": services.labels(), "confidences": CONFIDENCES, "query": request.GET.urlencode(),
        "funnel": services.funnel(screening_run.pk),
        "benefits": [(b, services.label(b)) for b in screening_run.benefits]})


def _filters(request: Any) -> dict[str, Any]:
    data = request.GET if request.method == "GET" else request.POST
    quartier = data.get("quartier") or ""
    confidence = data.get("confidence") or ""
    return {"benefit": data.get("benefit") if data.get("benefit") in services.all_benefits() else "",
            "quartier": parse_id(quartier),
            "confidence": confidence if confidence in dict(CONFIDENCES) else ""}


@require_POST
def inform(request: HttpRequest, run_id: int) -> HttpResponse:
    filters = _filters(request)
    try:
        figures = services.start_outreach(run_id, **filters, started_by=request.actor.label)
    except LookupError:
        raise Http404("criblage inconnu") from None
    except services.RightsError as exc:
        messages.error(request, str(exc))
        return redirect("rights:run", run_id=run_id)
    else:
        started = count_fr(figures.get("started", 0), "foyer informé|foyers informés|aucun foyer informé")
        followed = count_fr(figures.get("already_followed", 0), "déjà suivi|déjà suivis")
        gone = count_fr(figures.get("opposed_or_gone", 0), "opposé ou parti|opposés ou partis")
        messages.success(request, f"{started[0].upper()}{started[1:]} ; {followed}, {gone}.")
    return redirect("rights:run", run_id=run_id)


@require_GET
def household(request: HttpRequest, run_id: int, household_id: int) -> HttpResponse:
    access = request.access
    try:
        data = services.explanation(access, run_id, household_id)
    except LookupError as exc:
        raise Http404(str(exc)) from None
    data["household_name"] = registry.household_names(access, [household_id]).get(household_id, "")
    data["period_label"] = services.period_label(data["run"].period)
    return render(request, "rights/household.html", data)


@require_http_methods(["GET", "POST"])
def outreaches(request: HttpRequest) -> HttpResponse:
    access = request.access
    if request.method == "POST":
        raw, action = request.POST.get("outreach", ""), request.POST.get("action")
        if not (raw.isdigit() and len(raw) <= 18 and action in ("claimed", "refused")):
            return HttpResponseBadRequest("accompagnement ou action inconnus", content_type="text/plain; charset=utf-8")
        try:
            if action == "claimed":
                services.mark_claimed(access, int(raw))
                messages.success(request, "Demande déposée : le suivi du recours continue à M+1 et M+3.")
            else:
                services.refuse(int(raw), source="agent", access=access)
                messages.success(request, "Refus enregistré : le foyer ne sera plus informé de droits possibles.")
        except LookupError as exc:
            raise Http404(str(exc) or "accompagnement inconnu") from None
        except ValueError as exc:
            messages.error(request, str(exc))
        return redirect(f"{reverse('rights:outreaches')}?statut={request.POST.get('statut', '')}")
    status = request.GET.get("statut", "")

    def prepare(rows: list[Any], action: str) -> list[Any]:
        names = registry.names_for(access, [o.person_id for o in rows], action)
        for o in rows:
            o.name = names.get(o.person_id, "")
        return rows

    table = tables.Table(request, services.outreaches(status), OUTREACH_COLUMNS, caption="Foyers accompagnés",
                         default_sort="-date", count="foyer accompagné|foyers accompagnés|aucun foyer accompagné",
                         prepare=prepare)
    return render(request, "rights/outreaches.html", {
        "table": table, "status": status, "statuses": services.OUTREACH_STATUSES,
        "labels": services.labels(), "funnel": services.funnel()})


@require_GET
def claim_summary(request: HttpRequest, outreach_id: int) -> HttpResponse:
    """The pre-filled claim summary (PDF): the benefits, the data used and their source."""
    from weasyprint import HTML

    access = request.access
    try:
        data = services.claim_summary(access, outreach_id)
    except LookupError as exc:
        raise Http404(str(exc)) from None
    html = render_to_string("rights/claim_summary.html", data, request=request)
    response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="recapitulatif-droits-{outreach_id}.pdf"'
    return response


# --- the citizen's page ----------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def portal(request: HttpRequest) -> HttpResponse:
    link = request.citizen_link
    outreach = services.outreach_for_person(link.person_id)
    if outreach is None:
        return render(request, "rights/portal_no_link.html", status=403)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "refuse":
                services.refuse(outreach.pk, source="portail")
                messages.success(request, "C'est noté : nous ne vous informerons plus de droits possibles.")
            elif action == "appointment":
                services.request_appointment(outreach.pk, moment=request.POST.get("moment", ""))
                messages.success(request, "Votre demande est transmise au CCAS, qui vous contactera pour fixer "
                                          "le rendez-vous.")
            else:
                raise services.RightsError("choisissez de demander un rendez-vous ou de refuser")
            return redirect("droits-portail:home")
        except services.RightsError as exc:
            error = str(exc)
    view = services.outreach_views([outreach.pk])[outreach.pk]
    return render(request, "rights/portal.html", {
        "prenom": registry.first_name(link.person_id), "outreach": outreach, "view": view, "error": error,
        "items": [(services.label(b["benefit"]), b["amount"], b["benefit"] == "css_gratuite")
                  for b in outreach.benefits]},
        status=400 if error else 200)
