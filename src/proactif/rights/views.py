"""Rights detection in the agent interface (screening runs, detections, explanations, outreach and take-up)
and the citizen's page reached from the information message (ask for an appointment, or refuse)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.kernel import clock
from proactif.kernel.ids import parse_id
from proactif.registry import services as registry
from proactif.rights import services

CONFIDENCES = (("haute", "Haute"), ("moyenne", "Moyenne"), ("faible", "Faible"))


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
    filters = _filters(request)
    page = Paginator(services.detections(screening_run, **filters), 50).get_page(request.GET.get("page"))
    services.log_detections_view(request.access, [a.household_id for a in page])
    quartiers = {q.pk: q.nom for q in registry.quartiers()}
    summary = [(b, services.label(b), screening_run.summary.get(b, {})) for b in screening_run.benefits]
    return render(request, "rights/run.html", {
        "run": screening_run, "summary": summary, "page": page, "filters": filters, "quartiers": quartiers,
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
        messages.success(request, f"{figures.get('started', 0)} foyer(s) informé(s) ; "
                                  f"{figures.get('already_followed', 0)} déjà suivi(s), "
                                  f"{figures.get('opposed_or_gone', 0)} opposé(s) ou parti(s).")
    return redirect("rights:run", run_id=run_id)


@require_GET
def household(request: HttpRequest, run_id: int, household_id: int) -> HttpResponse:
    access = request.access
    try:
        data = services.explanation(access, run_id, household_id)
    except LookupError as exc:
        raise Http404(str(exc)) from None
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
    page = Paginator(services.outreaches(status), 50).get_page(request.GET.get("page"))
    names = registry.names_for(access, [o.person_id for o in page])
    return render(request, "rights/outreaches.html", {
        "page": page, "status": status, "statuses": services.OUTREACH_STATUSES,
        "names": names, "labels": services.labels(), "funnel": services.funnel()})


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
