"""Deadline pages. For citizens (reached by their signed link, no account): the appointment portal —
pre-application number, a slot of the town hall's agenda, the documents to bring, the calendar file,
cancel and rebook. For agents: the counter's agenda, booking on someone's behalf, the title requests from
the counter to the collection (with the status files of the production site), and the counters' settings."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.accounts.domain import Role
from proactif.deadlines import domain, services
from proactif.deadlines.forms import BookingForm, ClosureForm, CounterForm, StatusFileForm, format_hours
from proactif.deadlines.models import TITLE_LABELS, Appointment, Counter, TitleRequest
from proactif.kernel import clock, tables
from proactif.kernel.ids import parse_id
from proactif.kernel.text import count_fr, date_fr
from proactif.registry import services as registry

TITLE_COLUMNS = (
    tables.Column("deposee", "Déposée le", sort="created_at", value="created_at"),
    tables.Column("habitant", "Habitant", value="name"),
    tables.Column("titre", "Titre", value=lambda r: TITLE_LABELS.get(r.kind, r.kind)),
    tables.Column("pre_demande", "Pré-demande", value="pre_demande"),
    tables.Column("etat", "État", value=lambda r: r.get_status_display()),
    tables.Column("retrait", "À retirer avant le", sort="collect_by", value="collect_by", shown=False),
    tables.Column("action", "Action", export=False),
)
AGENDA_COLUMNS = (
    tables.Column("heure", "Heure", value=lambda a: a.starts_at.astimezone(clock.local_tz()).strftime("%H:%M")),
    tables.Column("habitant", "Habitant", value="name"),
    tables.Column("demande", "Demande", value=lambda a: f"{a.get_case_display()} — {a.kinds_label}"),
    tables.Column("pre_demandes", "Pré-demande"),
    tables.Column("etat", "État", value=lambda a: a.get_status_display()),
    tables.Column("actions", "Actions", export=False),
)


# --- choosing a day and a slot (shared by the citizen portal and the agents) -----------------
def _counter(request: HttpRequest) -> Counter:
    counters = list(services.counters())
    if not counters:
        return services.ensure_default_counter()
    chosen = request.GET.get("guichet") or request.POST.get("guichet")
    return next((c for c in counters if str(c.pk) == chosen), counters[0])


def _chosen_day(request: HttpRequest, days: list[tuple[date, int]]) -> date | None:
    text = request.GET.get("jour") or request.POST.get("jour")
    try:
        wanted = date.fromisoformat(text) if text else None
    except ValueError:
        wanted = None
    available = [d for d, _ in days]
    if wanted in available:
        return wanted
    return available[0] if available else None


def _picker(request: HttpRequest, counter: Counter, data: Any, initial: dict[str, Any],
            pre_demande_required: bool) -> dict[str, Any]:
    days = services.available_days(counter, clock.today(), days=60)
    day = _chosen_day(request, days)
    slots = services.day_slots(counter, day) if day else []
    form = BookingForm(data, slots=slots, initial=initial, pre_demande_required=pre_demande_required)
    weeks: dict[date, list[tuple[date, int]]] = {}
    for d, free in days:
        weeks.setdefault(d - timedelta(days=d.weekday()), []).append((d, free))
    return {"form": form, "day": day, "weeks": sorted(weeks.items()), "slots": [s for s in slots if s.free],
            "counter": counter, "counters": services.counters()}


def _book(form: BookingForm, counter: Counter, person_id: int, instance_id: int | None, document_id: int | None,
          by: str, rebook: Appointment | None) -> Appointment:
    data = form.cleaned_data
    if rebook is not None:
        return services.rebook(rebook.pk, form.starts_at(), by)
    return services.book(services.BookingRequest(person_id, counter.pk, form.starts_at(), data["case"],
                                                 tuple(data["kinds"]), tuple(data["pre_demandes"]), document_id,
                                                 instance_id, by))


# --- citizens (reached by their signed link: `request.citizen_link`) -------------------------
@require_http_methods(["GET", "POST"])
def portal(request: HttpRequest) -> HttpResponse:
    link = request.citizen_link
    person_id = link.person_id
    subject_id = (link.payload or {}).get("subject_id")
    document = registry.document_views([subject_id]).get(subject_id) if subject_id else None
    current = services.current_appointment(person_id)
    changing = current is not None and (request.GET.get("changer") or request.POST.get("changer"))
    context: dict[str, Any] = {"prenom": registry.first_name(person_id), "document": document,
                               "appointment": current, "requests": services.open_requests(person_id),
                               "kind_labels": TITLE_LABELS, "changing": changing}
    if current is not None and not changing:
        context["pieces"] = domain.documents_to_bring(current.case, current.kinds)
        return render(request, "deadlines/portal.html", context)
    counter = _counter(request)
    kind = (document or {}).get("kind")
    initial = {"case": "renouvellement", "kinds": [kind] if kind in TITLE_LABELS else ["passeport"]}
    if current is not None:
        initial = {"case": current.case, "kinds": current.kinds, "pre_demandes": ", ".join(current.pre_demandes)}
    data = None
    if request.method == "POST":
        data = request.POST.copy()
        if changing and current is not None:  # the request stays the same: only the slot moves
            data["case"], data["pre_demandes"] = current.case, ", ".join(current.pre_demandes)
            data.setlist("kinds", list(current.kinds))
    picker = _picker(request, counter, data, initial, not changing)
    context.update(picker)
    if request.method == "POST" and picker["form"].is_valid():
        try:
            appointment = _book(picker["form"], counter, person_id, link.instance_id, subject_id, "portail",
                                current if changing else None)
        except services.BookingError as exc:
            picker["form"].add_error("slot", str(exc))
        else:
            local = appointment.starts_at.astimezone(clock.local_tz())
            messages.success(request, f"Rendez-vous {'déplacé' if changing else 'confirmé'} le "
                                      f"{local:%d/%m/%Y} à {local:%Hh%M}. Une confirmation vous est envoyée.")
            return redirect("portal:home")
    return render(request, "deadlines/portal_book.html", context, status=400 if request.method == "POST" else 200)


@require_POST
def portal_cancel(request: HttpRequest) -> HttpResponse:
    link = request.citizen_link
    current = services.current_appointment(link.person_id)
    if current is None:
        messages.info(request, "Vous n'avez pas de rendez-vous à venir.")
        return redirect("portal:home")
    try:
        services.cancel(current.pk, "portail")
    except services.BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Votre rendez-vous est annulé. Vous pouvez en prendre un autre ci-dessous.")
    return redirect("portal:home")


@require_GET
def portal_ics(request: HttpRequest, appointment_id: int) -> HttpResponse:
    link = request.citizen_link
    try:
        appointment = services.get_appointment(appointment_id)
    except Appointment.DoesNotExist:
        raise Http404("rendez-vous inconnu") from None
    if appointment.person_id != link.person_id:
        raise Http404("rendez-vous inconnu")
    return _ics_response(appointment)


def _ics_response(appointment: Appointment) -> HttpResponse:
    response = HttpResponse(services.ics(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="rendez-vous-mairie.ics"'
    return response


def _is_manager(request: HttpRequest) -> bool:
    return request.actor.role in (Role.RESPONSABLE, Role.ADMIN)


# --- agents: agenda -------------------------------------------------------------------------
@require_GET
def agenda(request: HttpRequest) -> HttpResponse:
    counter = _counter(request)
    try:
        day = date.fromisoformat(request.GET.get("jour", "")) if request.GET.get("jour") else clock.today()
    except ValueError:
        day = clock.today()
    exporting = request.GET.get(tables.EXPORT) == "csv"
    rows = services.agenda(request.access, counter, day, tables.EXPORT_ACTION if exporting else "view")
    table = tables.Table(request, [a for row in rows for a in row.appointments], AGENDA_COLUMNS, per_page=10_000,
                         caption=f"{counter.name} — {date_fr(day, weekday=True)}", export=f"rendez-vous-{day}",
                         count="rendez-vous|rendez-vous|aucun rendez-vous")
    if table.export_requested:
        return table.csv_response()
    return render(request, "deadlines/agenda.html", {
        "rows": rows, "table": table, "day": day, "counter": counter, "counters": services.counters(),
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1), "today": clock.today(),
        "booked": sum(len(r.appointments) for r in rows), "free": sum(r.free for r in rows),
        "figures": services.figures(), "is_manager": _is_manager(request), "now": clock.now()})


@require_POST
def appointment_action(request: HttpRequest, appointment_id: int) -> HttpResponse:
    access = request.access
    try:
        appointment = services.get_appointment(appointment_id)
    except Appointment.DoesNotExist:
        raise Http404("rendez-vous inconnu") from None
    action = request.POST.get("action", "")
    try:
        if action == "done":
            created = services.mark_done(appointment.pk, request.actor.label)
            messages.success(request, "Dépôt enregistré : " + count_fr(
                len(created), "demande de titre suivie|demandes de titre suivies|aucune demande de titre suivie") + ".")
        elif action == "missed":
            services.mark_missed(appointment.pk)
            messages.success(request, "Rendez-vous noté manqué : l'habitant sera relancé.")
        elif action == "cancel":
            services.cancel(appointment.pk, request.actor.label)
            messages.success(request, "Rendez-vous annulé ; l'habitant est prévenu.")
        else:
            return HttpResponseBadRequest("action inconnue : done, missed ou cancel",
                                          content_type="text/plain; charset=utf-8")
    except services.BookingError as exc:
        messages.error(request, str(exc))
    else:
        services.record_agent_action(access, appointment.person_id, f"appointment_{action}",
                                     appointment=appointment.pk)
    return redirect(_agenda_url(appointment))


def _agenda_url(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(clock.local_tz())
    return f"{reverse('deadlines:agenda')}?guichet={appointment.counter_id}&jour={local.date().isoformat()}"


@require_GET
def agent_ics(request: HttpRequest, appointment_id: int) -> HttpResponse:
    try:
        appointment = services.get_appointment(appointment_id)
    except Appointment.DoesNotExist:
        raise Http404("rendez-vous inconnu") from None
    services.record_agent_read(request.access, appointment.person_id, "appointment_calendar",
                               appointment=appointment.pk)
    return _ics_response(appointment)


@require_http_methods(["GET", "POST"])
def agent_booking(request: HttpRequest) -> HttpResponse:
    """An agent books for a resident (on the phone, at the desk): same agenda, same rules."""
    access = request.access
    person_id = parse_id(request.GET.get("personne") or request.POST.get("personne"))
    instance_id = parse_id(request.GET.get("parcours") or request.POST.get("parcours"))
    if not person_id:
        raise Http404("habitant non précisé")
    names = registry.names_for(access, [person_id])
    if person_id not in names:
        raise Http404("habitant inconnu")
    counter = _counter(request)
    current = services.current_appointment(person_id)
    initial = {"case": "renouvellement", "kinds": ["passeport"]}
    picker = _picker(request, counter, request.POST if request.method == "POST" else None, initial, False)
    context = {**picker, "person_id": person_id, "instance_id": instance_id, "name": names[person_id],
               "appointment": current,
               "extra_query": f"&personne={person_id}" + (f"&parcours={instance_id}" if instance_id else "")}
    if request.method == "POST" and picker["form"].is_valid():
        try:
            appointment = _book(picker["form"], counter, person_id, instance_id, None, request.actor.label, None)
        except services.BookingError as exc:
            picker["form"].add_error("slot", str(exc))
        else:
            services.record_agent_action(access, person_id, "appointment_booked", appointment=appointment.pk)
            messages.success(request, "Rendez-vous pris ; l'habitant reçoit la confirmation.")
            return redirect(_agenda_url(appointment))
    return render(request, "deadlines/agent_booking.html", context,
                  status=400 if request.method == "POST" else 200)


# --- agents: title requests -----------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def titles(request: HttpRequest) -> HttpResponse:
    access = request.access
    form = StatusFileForm()
    report = None
    if request.method == "POST" and request.POST.get("action") == "import":
        form = StatusFileForm(request.POST, request.FILES)
        if form.is_valid():
            report = _import_status(request, form)
    elif request.method == "POST":
        if not _title_action(request, access):
            return HttpResponseBadRequest("demande ou action inconnue", content_type="text/plain; charset=utf-8")
        return redirect(f"{reverse('deadlines:titles')}?statut={request.POST.get('statut', '')}")
    status = request.GET.get("statut", "")

    def prepare(rows: list[TitleRequest], action: str) -> list[TitleRequest]:
        names = registry.names_for(access, [r.person_id for r in rows], action)
        for row in rows:
            row.name = names.get(row.person_id, "")  # type: ignore[attr-defined]
        return rows

    table = tables.Table(request, services.requests(status), TITLE_COLUMNS, caption="Demandes de titres",
                         default_sort="-deposee", export="demandes-de-titres",
                         count="demande|demandes|aucune demande", prepare=prepare)
    if table.export_requested:
        return table.csv_response()
    return render(request, "deadlines/titles.html", {
        "table": table, "status": status, "statuses": TitleRequest.STATUS, "form": form, "report": report,
        "kind_labels": TITLE_LABELS,
        "is_manager": _is_manager(request)}, status=400 if request.method == "POST" and report is None else 200)


def _title_action(request: HttpRequest, access: Any) -> bool:
    raw = request.POST.get("demande", "")
    row = services.requests().filter(pk=int(raw)).first() if raw.isdigit() and len(raw) <= 18 else None
    if row is None:
        messages.error(request, "Demande inconnue.")
        return False
    if request.POST.get("action") == "ready":
        services.mark_ready(row.pk)
        messages.success(request, "Titre prêt : l'habitant est prévenu pour venir le retirer.")
    elif request.POST.get("action") == "collected":
        services.mark_collected(row.pk, request.POST.get("numero", "").strip()[:20])
        messages.success(request, "Titre remis : le parcours de l'habitant se termine.")
    else:
        messages.error(request, "Action inconnue.")
        return False
    services.record_agent_action(access, row.person_id, f"title_{request.POST.get('action')}", request=row.pk)
    return True


def _import_status(request: HttpRequest, form: StatusFileForm) -> services.StatusReport | None:
    import tempfile
    from pathlib import Path

    upload = form.cleaned_data["file"]
    with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        path = Path(handle.name)
    try:
        report = services.import_status_file(str(path))
    except services.BookingError as exc:
        form.add_error("file", str(exc))
        return None
    except ValueError as exc:
        form.add_error("file", f"fichier illisible : {exc}")
        return None
    finally:
        path.unlink(missing_ok=True)
    parts = (count_fr(report.ready, "titre prêt|titres prêts|aucun titre prêt"),
             count_fr(report.collected, "titre remis|titres remis|aucun titre remis"),
             count_fr(report.unchanged, "ligne sans effet|lignes sans effet|aucune ligne sans effet"),
             count_fr(len(report.errors or []), "ligne rejetée|lignes rejetées|aucune ligne rejetée"))
    messages.success(request, f"{count_fr(report.lines, 'ligne|lignes|aucune ligne')} : {', '.join(parts)}.")
    return report


# --- agents: counters -----------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def counters(request: HttpRequest) -> HttpResponse:
    counter = _counter(request)
    hours = [(h.weekday, h.start, h.end) for h in counter.hours.all()]
    form = CounterForm(initial={"name": counter.name, "address": counter.address, "slot_minutes": counter.slot_minutes,
                                "seats": counter.seats, "hours": format_hours(hours)})
    closure_form = ClosureForm()
    if request.method == "POST" and request.POST.get("action") == "counter":
        form = CounterForm(request.POST)
        if form.is_valid():
            services.configure_counter(request.access, counter.pk, **form.cleaned_data)
            messages.success(request, "Guichet enregistré ; les créneaux proposés suivent ces réglages.")
            return redirect(f"{reverse('deadlines:counters')}?guichet={counter.pk}")
    elif request.method == "POST" and request.POST.get("action") == "closure":
        closure_form = ClosureForm(request.POST)
        if closure_form.is_valid():
            services.add_closure(None if request.POST.get("tous") else counter.pk, closure_form.cleaned_data["day"],
                                 closure_form.cleaned_data["reason"])
            messages.success(request, "Fermeture enregistrée.")
            return redirect(f"{reverse('deadlines:counters')}?guichet={counter.pk}")
    elif request.method == "POST" and request.POST.get("action") == "reopen":
        closure = request.POST.get("fermeture", "")
        if closure.isdigit() and len(closure) <= 18 and services.remove_closure(int(closure)):
            messages.success(request, "Fermeture supprimée.")
            return redirect(f"{reverse('deadlines:counters')}?guichet={counter.pk}")
        messages.error(request, "Fermeture inconnue.")
    return render(request, "deadlines/counters.html", {
        "counter": counter, "counters": services.counters(), "form": form, "closure_form": closure_form,
        "closures": services.closures(counter)}, status=400 if request.method == "POST" else 200)

