"""The register of vulnerable people and the heatwave and cold-wave plans in the agent interface: the plan and
its vigilance level, the register (list, enrolment, entry, removal), the day's board and call list, the préfet's
file. Every page opens under the purpose `prevention_sante` only and logs the persons it shows."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.kernel import clock, csvexport, tables
from proactif.kernel.ids import parse_id
from proactif.kernel.text import count_fr
from proactif.registry import services as registry
from proactif.watch import _alerts as alerts_service
from proactif.watch import _desk as desk_service
from proactif.watch import _escalation as escalation_service
from proactif.watch import _referent as referent_service
from proactif.watch import _thresholds as thresholds_service
from proactif.watch import domain, services
from proactif.watch.models import Alert

REGISTER_COLUMNS = (
    tables.Column("nom", "Personne", value="name"),
    tables.Column("age", "Âge", value="age", numeric=True),
    tables.Column("adresse", "Adresse", value="address"),
    tables.Column("quartier", "Quartier", value="quartier"),
    tables.Column("telephone", "Téléphone", value="telephone"),
    tables.Column("qualite", "Qualité", value="qualite"),
    tables.Column("demandeur", "Demande de", value="demandeur"),
    tables.Column("date", "Demande du", sort="requested_on", value="requested_on"),
)
FLAGS = (("", "Toutes"), ("accuse_en_retard", "Accusé de réception en retard"), ("a_confirmer", "À confirmer"),
         ("sans_contact", "Sans personne à prévenir"))


def _access(request: HttpRequest) -> Any:
    return request.access  # type: ignore[attr-defined]


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request)


def _home(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "watch/home.html", {
        "plans": services.live_plans(), "readings": services.readings(), "figures": services.figures(),
        "departements": services.departements(), "phenomenes": domain.PHENOMENES.items(),
        "couleurs": domain.COULEURS.items(), "labels": domain.PLAN_LABELS, "today": clock.today(), "error": error,
        "post": request.POST}, status=status)


@require_POST
def vigilance(request: HttpRequest) -> HttpResponse:
    """An agent enters a level, or imports a Météo-France vigilance file; a refusal comes back on the page (400)."""
    upload = request.FILES.get("fichier")
    try:
        if upload is not None:
            results = services.import_vigilance(request.actor, upload.read(services.VIGILANCE_MAX_BYTES + 1),  # type: ignore[attr-defined]
                                                source="fichier")
            for result in results:
                messages.info(request, _said(result))
            if not results:
                messages.info(request, "Fichier lu : aucun niveau de canicule ou de grand froid pour vos départements.")
        else:
            result = services.record_level(request.actor, request.POST.get("departement", ""),  # type: ignore[attr-defined]
                                           request.POST.get("phenomene", ""), request.POST.get("niveau", ""))
            messages.success(request, _said(result))
            if result["plan"] and result["to_contact_today"]:
                return redirect("watch:plan", plan_id=result["plan"]["id"])
    except services.PlanError as exc:
        return _home(request, error=str(exc), status=400)
    return redirect("watch:home")


def _said(result: dict[str, Any]) -> str:
    """« Vigilance orange canicule, département 75 : plan ouvert, campagne d'appels. 193 personnes à contacter
    aujourd'hui, dont 64 à appeler. »"""
    text = (f"Vigilance {result['level']} {domain.PHENOMENES[result['phenomenon']].lower()}, département "
            f"{result['departement']} : {result['effect']}.")
    if result["to_contact_today"]:
        text += (f" {count_fr(result['to_contact_today'], 'personne à contacter|personnes à contacter')} "
                 f"aujourd'hui, dont {result['call_list']} à appeler.")
    return text


@require_POST
def end_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    if services.get_plan(plan_id) is None:
        raise Http404("plan inconnu")
    try:
        services.end_plan(request.actor, plan_id)  # type: ignore[attr-defined]
    except services.PlanError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Plan levé : les contacts du jour sans réponse sont arrêtés.")
    return redirect("watch:home")


# --- the register ---------------------------------------------------------------------------------------------
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("statut", "inscrite")
    status = status if status in ("inscrite", "radiee") else "inscrite"
    flag = request.GET.get("filtre", "")
    flag = flag if flag in dict(FLAGS) else ""
    quartier = parse_id(request.GET.get("quartier"))
    rows = services.entries(status, quartier_id=quartier, flag=flag)

    def prepare(page: list[Any], action: str) -> list[Any]:
        return services.with_residents(_access(request), page, action)

    table = tables.Table(request, rows, REGISTER_COLUMNS, caption="Personnes inscrites au registre",
                         default_sort="-date", export="registre", count="inscription|inscriptions|aucune inscription",
                         prepare=prepare)
    if table.export_requested:
        return table.csv_response()
    return render(request, "watch/register.html", {
        "table": table, "status": status, "flag": flag, "flags": FLAGS, "quartier": quartier,
        "quartiers": registry.quartiers(), "figures": services.figures()})


@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    query = request.GET.get("q", "").strip()[:200]
    person_id = parse_id(request.GET.get("personne") or request.POST.get("personne"))
    found = registry.search_persons(access, query, limit=20)[1] if query and not person_id else []
    errors: dict[str, str] = {}
    candidate = services.candidate(access, person_id) if person_id else None
    if person_id and candidate is None:
        raise Http404("personne inconnue")
    if request.method == "POST" and candidate is None:
        errors["__all__"] = "choisissez d'abord la personne à inscrire"
    if request.method == "POST" and candidate is not None:
        try:
            registration = services.enrol(request.actor, services.request_from_form(person_id, request.POST))  # type: ignore[attr-defined,arg-type]
        except services.WatchError as exc:
            errors["__all__"] = str(exc)
        else:
            messages.success(request, "Inscription enregistrée ; l'accusé de réception part aujourd'hui.")
            return redirect("watch:entry", registration_id=registration.pk)
    return render(request, "watch/enrol.html", {
        "query": query, "found": found, "candidate": candidate, "errors": errors, "post": request.POST,
        "qualites": domain.QUALITES.items(), "qualites_map": domain.QUALITES, "demandeurs": domain.DEMANDEURS.items(),
        "tiers": domain.TIERS_QUALITES.items(), "transmissions": domain.TRANSMISSIONS.items(),
        "handicaps": domain.HANDICAP_TITRES.items()}, status=400 if errors else 200)


@require_http_methods(["GET", "POST"])
def entry(request: HttpRequest, registration_id: int) -> HttpResponse:
    if request.method == "POST":
        if services.get_registration(registration_id) is None:
            raise Http404("inscription inconnue")
        action = request.POST.get("action", "")
        if action not in ("radier", "confirmer", "besoins"):
            return HttpResponse("action inconnue (radier, confirmer ou besoins)", status=400,
                                content_type="text/plain; charset=utf-8")
        try:
            if action == "radier":
                services.remove(request.actor, registration_id, request.POST.get("motif", ""),  # type: ignore[attr-defined]
                                note=request.POST.get("note", ""))
                messages.success(request, "Inscription radiée : contacts et besoins effacés.")
            elif action == "confirmer":
                services.confirm(request.actor, registration_id)  # type: ignore[attr-defined]
                messages.success(request, "Inscription confirmée pour un an.")
            elif action == "besoins":
                services.set_need(request.actor, registration_id, request.POST.get("besoins", ""),  # type: ignore[attr-defined]
                                  request.POST.get("accord", ""))
                messages.success(request, "Besoins particuliers enregistrés.")
        except services.WatchError as exc:
            messages.error(request, str(exc))
        return redirect("watch:entry", registration_id=registration_id)
    try:
        view = services.entry(_access(request), registration_id)
    except LookupError:
        raise Http404("inscription inconnue") from None
    return render(request, "watch/entry.html", {
        "e": view, "reasons": domain.REMOVAL_REASONS.items(), "event_labels": domain.EVENT_LABELS,
        "handicaps": domain.HANDICAP_TITRES, "outcomes": domain.CALL_OUTCOMES,
        "states": domain.STATES, "answers": domain.ANSWERS})


@require_http_methods(["GET", "POST"])
def transmission(request: HttpRequest) -> HttpResponse:
    """A file the département (APA at home, PCH) or the CARSAT transmits (loi 2024-317): its report, line by line."""
    import tempfile

    report, error = None, ""
    source = request.POST.get("organisme", "")
    if request.method == "POST":
        upload = request.FILES.get("fichier")
        if upload is None:
            error = "choisissez le fichier transmis"
        elif upload.size and upload.size > services.VIGILANCE_MAX_BYTES:
            error = "fichier de plus de 5 Mo : découpez-le"
        else:
            with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
                handle.flush()
                try:
                    report = services.import_transmission(request.actor, source, handle.name)  # type: ignore[attr-defined]
                except services.WatchError as exc:
                    error = str(exc)
    return render(request, "watch/transmission.html", {
        "report": report, "error": error, "source": source, "sources": domain.TRANSMISSIONS.items(),
        "columns": services.TRANSMISSION_COLUMNS.items()}, status=400 if error else 200)


# --- a plan's campaign ----------------------------------------------------------------------------------------
def _plan_and_day(request: HttpRequest, plan_id: int) -> tuple[Any, date, list[date]]:
    plan = services.get_plan(plan_id)
    if plan is None:
        raise Http404("plan inconnu")
    days = services.rounds(plan)
    raw = request.GET.get("jour", "")
    try:
        day = date.fromisoformat(raw) if raw else (days[0] if days else clock.today())
    except ValueError:
        day = days[0] if days else clock.today()
    return plan, day, days


BOARD_COLUMNS = (
    tables.Column("personne", "Personne", value="name"),
    tables.Column("etat", "État", value=lambda c: domain.STATES.get(c.state, c.state)),
    tables.Column("priorite", "Priorité", value=lambda c: " ; ".join(domain.PRIORITY_REASONS[r] for r in c.reasons)),
    tables.Column("telephone", "Téléphone", value=lambda c: " ; ".join(c.phones)),
    tables.Column("action", "Action", export=False),
)


PREPARED_COLUMNS = (
    BOARD_COLUMNS[0],
    tables.Column("ordre", "Contact", value=lambda c: "À appeler d'abord" if c.call_first else "SMS puis appel"),
    *BOARD_COLUMNS[2:4],
)


@require_GET
def plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The board of a day: coverage in all, every person (needs-help first, by pages), coverage per quartier."""
    current, day, days = _plan_and_day(request, plan_id)
    if current.level < domain.CAMPAIGN_LEVEL and not days:
        return _prepared(request, current, day)
    board = services.board(current, day)

    def prepare(rows: list[Any], action: str) -> list[Any]:
        return services.name_checkins(_access(request), rows, action)

    table = tables.Table(request, board["rows"], BOARD_COLUMNS, caption="Les personnes du jour : besoin d'aide, "
                         "injoignables, puis par priorité", export="tableau",
                         count="personne|personnes|aucune personne", prepare=prepare)
    if table.export_requested:
        return table.csv_response()
    return render(request, "watch/plan.html", {
        "plan": current, "day": day, "days": days, "board": board, "table": table, "labels": domain.PLAN_LABELS,
        "states": domain.STATES, "reasons": domain.PRIORITY_REASONS, "tab": "board"})


def _prepared(request: HttpRequest, current: Any, day: date) -> HttpResponse:
    """A yellow plan: the list prepared for an orange level — who would be contacted, in which order, who called
    first — with nobody contacted yet."""
    table = tables.Table(request, services.prepared(current, day), PREPARED_COLUMNS,
                         caption="Liste préparée : qui serait contacté, dans quel ordre", export="liste-preparee",
                         count="personne|personnes|aucune personne", prepare=lambda rows, action:
                         services.name_checkins(_access(request), rows, action))
    if table.export_requested:
        return table.csv_response()
    return render(request, "watch/prepared.html", {
        "plan": current, "day": day, "days": [], "table": table, "labels": domain.PLAN_LABELS,
        "reasons": domain.PRIORITY_REASONS, "tab": "board"})


@require_GET
def calls(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The day's call list: who to call now, with the script and the outcomes to record (by pages of 25)."""
    current, day, days = _plan_and_day(request, plan_id)
    everyone = request.GET.get("tous") == "1"
    table = tables.Table(request, services.call_list(current, day, everyone=everyone), BOARD_COLUMNS[:4],
                         caption="Liste d'appels", per_page=25, count="personne à appeler|personnes à appeler|"
                         "aucune personne à appeler", prepare=lambda rows, action: services.name_checkins(
                             _access(request), rows, action))
    return render(request, "watch/calls.html", {
        "plan": current, "day": day, "days": days, "table": table, "everyone": everyone,
        "query_prefix": f"jour={day.isoformat()}&{'tous=1&' if everyone else ''}",
        "labels": domain.PLAN_LABELS, "outcomes": domain.CALL_OUTCOMES.items(), "outcomes_map": domain.CALL_OUTCOMES,
        "states": domain.STATES, "reasons": domain.PRIORITY_REASONS, "script": services.call_script(current),
        "tab": "calls"})


@require_POST
def record_call(request: HttpRequest, checkin_id: int) -> HttpResponse:
    checkin = services.checkin(checkin_id)
    if checkin is None:
        raise Http404("contact inconnu")
    outcome = request.POST.get("issue", "")
    if outcome not in domain.CALL_OUTCOMES:
        return HttpResponse(f"issue d'appel inconnue : « {outcome[:40]} »", status=400,
                            content_type="text/plain; charset=utf-8")
    try:
        services.record_call(request.actor, checkin_id, outcome, request.POST.get("note", ""))  # type: ignore[attr-defined]
    except services.PlanError as exc:  # a plan lifted, a person removed from the register meanwhile
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    messages.success(request, f"Appel enregistré : {domain.CALL_OUTCOMES[outcome][0].lower()}.")
    target = "watch:plan" if request.POST.get("retour", "") == "tableau" else "watch:calls"
    return redirect(f"{_url(target, checkin.plan_id)}?jour={checkin.day.isoformat()}#contact-{checkin.pk}")


@require_POST
def take_in_charge(request: HttpRequest, checkin_id: int) -> HttpResponse:
    checkin = services.checkin(checkin_id)
    if checkin is None:
        raise Http404("contact inconnu")
    try:
        services.take_in_charge(request.actor, checkin_id)  # type: ignore[attr-defined]
    except services.PlanError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Besoin d'aide pris en charge.")
    return redirect(f"{_url('watch:plan', checkin.plan_id)}?jour={checkin.day.isoformat()}")


def _url(name: str, plan_id: int) -> str:
    from django.urls import reverse

    return reverse(name, kwargs={"plan_id": plan_id})


@require_GET
def prefet(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The register for the préfet (R121-8 CASF): exactly the fields of the register (R121-4), once the plan is
    triggered (orange or red)."""
    current = services.get_plan(plan_id)
    if current is None:
        raise Http404("plan inconnu")
    try:
        rows = services.prefet_rows(_access(request), current)
    except services.PlanError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (f'attachment; filename="registre-prefet-{current.departement}-'
                                       f'{clock.today().isoformat()}.csv"')
    response.write("\ufeff")
    writer = csvexport.writer(response)
    writer.writerow([label for _, label in domain.PREFET_FIELDS])
    writer.writerows([[row[key] for key, _ in domain.PREFET_FIELDS] for row in rows])
    return response


# --- the watch desk (home devices) ------------------------------------------------------------------------------
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """Open alerts, the gravest first, refreshing themselves (`?live=1`: the part that refreshes)."""
    rows = desk_service.name_alerts(_access(request), desk_service.desk_alerts(), request.session)
    context = {"alerts": rows, "figures": desk_service.desk_figures(), "severities": dict(Alert.SEVERITIES),
               "on_call": escalation_service.on_call(), "next_shifts": escalation_service.next_shifts()}
    if request.GET.get("live"):
        return render(request, "watch/_desk_live.html", context)
    return render(request, "watch/desk.html", context)


@require_GET
def devices(request: HttpRequest) -> HttpResponse:
    """The devices lent today on a map of the commune and in a table, the most worrying first; `?live=1` the
    table that refreshes itself, `?points=1` the map's dots (JSON)."""
    board = desk_service.device_board(_access(request), request.session)
    points = [{key: d[key] for key in ("serial", "status", "label", "colour", "rank", "name", "lon", "lat")}
              | {"url": reverse("watch:person_watch", args=[d["person_id"]])} for d in board["devices"]]
    if request.GET.get("points"):
        return JsonResponse({"points": points})
    if request.GET.get("live"):
        return render(request, "watch/_devices_live.html", board)
    return render(request, "watch/devices.html", {**board, "points": points})


@require_GET
def devices_quartiers(request: HttpRequest) -> JsonResponse:
    """The quartiers under the devices' map (no tile server, no internet)."""
    return JsonResponse(registry.quartier_layer())


@require_POST
def alert_action(request: HttpRequest, alert_id: int) -> HttpResponse:
    if not Alert.objects.filter(pk=alert_id).exists():
        raise Http404("alerte inconnue")
    action = request.POST.get("action", "")
    if action not in ("acquitter", "resoudre"):
        return HttpResponse("action inconnue (acquitter ou resoudre)", status=400,
                            content_type="text/plain; charset=utf-8")
    try:
        if action == "acquitter":
            alerts_service.acknowledge(request.actor, alert_id, request.POST.get("note", ""))  # type: ignore[attr-defined]
            messages.success(request, "Alerte acquittée.")
        else:
            alerts_service.resolve(request.actor, alert_id, request.POST.get("note", ""))  # type: ignore[attr-defined]
            messages.success(request, "Alerte résolue.")
    except alerts_service.AlertError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    return redirect("watch:desk")


@require_POST
def add_shift(request: HttpRequest) -> HttpResponse:
    """A shift of the on-call rota (audited)."""
    from django.utils.dateparse import parse_datetime

    try:  # a well-formed but impossible date (« 2026-13-45T10:00 ») raises instead of giving None
        starts = parse_datetime(request.POST.get("debut", ""))
        ends = parse_datetime(request.POST.get("fin", ""))
    except ValueError:
        starts = ends = None
    if starts is None or ends is None:
        return HttpResponse("début et fin attendus (AAAA-MM-JJTHH:MM)", status=400,
                            content_type="text/plain; charset=utf-8")
    tz = clock.local_tz()
    starts = starts if starts.tzinfo else starts.replace(tzinfo=tz)
    ends = ends if ends.tzinfo else ends.replace(tzinfo=tz)
    try:
        escalation_service.add_shift(request.actor, request.POST.get("agent", ""),  # type: ignore[attr-defined]
                                     request.POST.get("telephone", ""), starts, ends, request.POST.get("releve", ""))
    except escalation_service.RotaError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    messages.success(request, "Astreinte enregistrée.")
    return redirect("watch:desk")


@require_http_methods(["GET", "POST"])
def person_watch(request: HttpRequest, person_id: int) -> HttpResponse:
    """A person's watch page; POST: their thresholds changed on a clinician's instruction (`action`: « programme »,
    the programme's own bounds; « seuils », the bounds typed), refused field by field with a 400."""
    if not registry.residents([person_id]):
        raise Http404("personne inconnue")
    errors: dict[str, str] = {}
    form, status = "", 200
    if request.method == "POST":
        form = request.POST.get("action", "")
        try:
            _change_thresholds(request, person_id, form)
        except thresholds_service.ThresholdError as exc:
            errors, status = exc.errors, exc.status
        else:
            messages.success(request, "Seuils enregistrés, avec l'instruction du clinicien. Les prochaines mesures "
                                      "sont lues avec eux.")
            return redirect(f"{request.path}#seuils")
    try:
        page = desk_service.person_page(_access(request), person_id)
    except LookupError:
        raise Http404("personne inconnue") from None
    return render(request, "watch/person_watch.html", {
        **page, "errors": errors, "form": form, "post": request.POST if errors else {}, "today": clock.today(),
        "version": thresholds_service.version(person_id)}, status=status)


def _change_thresholds(request: HttpRequest, person_id: int, form: str) -> None:
    if form not in ("programme", "seuils"):
        raise thresholds_service.ThresholdError({"__all__": "action inconnue (programme ou seuils)"})
    instruction, errors = thresholds_service.parse_instruction(request.POST, clock.today())
    wanted = None
    if form == "programme":
        programme = request.POST.get("programme", "")
    else:
        programme = thresholds_service.current(person_id).programme
        wanted, bound_errors = thresholds_service.parse_bounds(request.POST)
        errors.update(bound_errors)
    if errors or instruction is None:
        raise thresholds_service.ThresholdError(errors or {"__all__": "instruction du clinicien manquante"})
    seen = parse_id(request.POST.get("version")) if request.POST.get("version") != "0" else 0
    thresholds_service.change(_access(request), person_id, programme, wanted, instruction, seen=seen)


# --- the referent's signed link (public: the token is the key) --------------------------------------------------
@require_http_methods(["GET", "POST"])
def referent_ack(request: HttpRequest, token: str) -> HttpResponse:
    """The page a referent's link opens: the person's first name and initial, the finding, what to do, and one
    button that acknowledges the alert as them (the escalation stops as with the desk). Nothing else: no
    thresholds, no readings, no other alert. A replay after the acknowledgement says it is taken in charge."""
    try:
        grant = referent_service.check(token)
    except referent_service.LinkRefused as exc:
        return _private(render(request, "watch/referent_refused.html", {"message": exc.message},
                               status=exc.status))
    done = False
    if request.method == "POST":
        try:
            alerts_service.acknowledge(grant.actor, grant.alert.pk)
        except alerts_service.AlertError:
            pass  # acknowledged or resolved meanwhile (another referent, the desk): the page says so
        else:
            done = True
        grant = referent_service.Grant(Alert.objects.get(pk=grant.alert.pk), grant.contact)
    # the acknowledgement is its own access-log row: a page shown after it is not a second read
    page = referent_service.page(grant, log=not done)
    return _private(render(request, "watch/referent.html", {**page, "done": done}))


def _private(response: HttpResponse) -> HttpResponse:
    """A page opened by a secret address: never cached, never indexed, the address never sent to another site
    (`same-origin`: with `no-referrer` the browser sends « Origin: null » with the page's own form, which
    Django's CSRF check refuses — the referent could not press the button)."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
