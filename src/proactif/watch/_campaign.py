"""The heatwave and cold-wave plans: the vigilance levels as they arrive, the plan they start or raise, the daily
rounds of contacts (an SMS with reply codes, the call list, the no-answer path run by the journey engine), the
answers and the board of coverage.

Yellow prepares the lists; orange and red start the campaign (the préfet triggers the ORSEC plan on them); a level
for a département that is not the collectivité's is recorded and starts nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from proactif.accounts.domain import Actor
from proactif.journeys import services as journeys
from proactif.kernel import clock, events
from proactif.kernel.logging import get_logger
from proactif.kernel.text import count_fr
from proactif.messaging import services as messaging
from proactif.registry import services as registry
from proactif.watch import domain, vigilance
from proactif.watch.models import Call, CheckIn, Contact, Plan, Registration, VigilanceReading

log = get_logger(__name__)
JOURNEY = "veille-quotidienne"
ESCALATED_NODES = frozenset({"injoignable", "attente_proche", "visite", "attente_visite", "secours", "fin_secours"})


class PlanError(ValueError):
    """A vigilance level or a plan action the platform refuses (one line)."""


def departements() -> list[str]:
    """The collectivité's départements: the setting, else those of the registry's addresses."""
    configured = [d.strip() for d in settings.WATCH_DEPARTEMENTS.split(",") if d.strip()]
    if configured:
        return [domain.departement_code(d) for d in configured]
    return registry.departements()[:1]


def live_plans() -> list[Plan]:
    return list(Plan.objects.filter(ended_at__isnull=True).order_by("-level", "started_at"))


# --- vigilance levels -----------------------------------------------------------------------------------------
def record_level(actor: Actor, departement: str, phenomenon: str, level: int | str, *, source: str = "agent",
                 day: date | None = None) -> dict[str, Any]:
    """Record a vigilance level and do what it says: prepare (yellow), start or raise the campaign (orange, red),
    lower or lift the plan (green). Returns the figures `proactif watch heatwave` prints."""
    try:
        dep = domain.departement_code(departement)
        colour = domain.level_of(level)
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    if phenomenon not in domain.PHENOMENES:
        raise PlanError(f"phénomène inconnu : « {phenomenon} » ({', '.join(domain.PHENOMENES)})")
    today = day or clock.today()
    ours = dep in departements()
    now = clock.now()
    started = False
    plan: Plan | None = None
    with transaction.atomic():
        if ours:
            plan, started, effect = _apply(actor, dep, phenomenon, colour, now)
        else:
            effect = "département hors de la collectivité, niveau enregistré sans effet"
        VigilanceReading.objects.create(departement=dep, phenomenon=phenomenon, level=colour, day=today, source=source,
                                        recorded_by=actor.label, recorded_at=now, ours=ours, effect=effect[:200])
    round_figures = {"to_contact_today": 0, "call_list": 0}
    if plan is not None and plan.ended_at is None and plan.level >= domain.CAMPAIGN_LEVEL:
        round_figures = start_round(plan, clock.today())
    elif plan is not None and plan.ended_at is None:  # yellow: the lists are ready, nobody is contacted yet
        round_figures["call_list"] = sum(c.call_first for c in prioritised(plan, clock.today()))
    log.info("vigilance level recorded", departement=dep, phenomenon=phenomenon, level=colour, ours=ours)
    return {"departement": dep, "phenomenon": phenomenon, "level": domain.COULEURS[colour],
            "plan": _plan_view(plan), "registered": Registration.objects.filter(status="inscrite").count(),
            **round_figures, "started": started, "effect": effect}


def _plan_view(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {"id": plan.pk, "status": plan.status, "label": domain.PLAN_LABELS[plan.status],
            "level": domain.COULEURS[plan.level], "since": plan.started_at.isoformat(),
            "ended": plan.ended_at.isoformat() if plan.ended_at else None}


def _apply(actor: Actor, dep: str, phenomenon: str, colour: int, now: datetime) -> tuple[Plan | None, bool, str]:
    plan = Plan.objects.select_for_update().filter(departement=dep, phenomenon=phenomenon,
                                                   ended_at__isnull=True).first()
    state = domain.plan_state(colour)
    if plan is None:
        if colour == 1:
            return None, False, "aucun plan en cours"
        plan = Plan.objects.create(phenomenon=phenomenon, departement=dep, level=colour, status=state,
                                   interval_days=settings.WATCH_INTERVAL_DAYS, started_at=now, raised_at=now,
                                   started_by=actor.label)
        return plan, colour >= domain.CAMPAIGN_LEVEL, f"plan ouvert, {domain.PLAN_LABELS[state].lower()}"
    if colour == 1:
        Plan.objects.filter(pk=plan.pk).update(level=1, status="terminee", ended_at=now)
        plan.refresh_from_db()
        stopped = stop_plan_paths(plan)
        stopped_text = count_fr(stopped, "contact du jour arrêté|contacts du jour arrêtés|aucun contact à arrêter")
        return plan, False, f"plan levé, {stopped_text}"
    was_campaign = plan.level >= domain.CAMPAIGN_LEVEL
    verb = "relevé" if colour > plan.level else "maintenu" if colour == plan.level else "abaissé"
    Plan.objects.filter(pk=plan.pk).update(level=colour, status=state, raised_at=now)
    plan.refresh_from_db()
    return plan, colour >= domain.CAMPAIGN_LEVEL and not was_campaign, \
        f"plan {verb}, {domain.PLAN_LABELS[state].lower()}"


def import_vigilance(actor: Actor, data: bytes, source: str = "fichier") -> list[dict[str, Any]]:
    """A Météo-France vigilance bulletin (a file, or the URL's answer): today's canicule and grand froid levels of
    the collectivité's départements are applied (green included: it lifts a plan); those of other départements,
    from yellow up, are recorded and start nothing."""
    try:
        bulletin = vigilance.parse(data)
    except vigilance.VigilanceError as exc:
        raise PlanError(str(exc)) from None
    return apply_bulletin(actor, bulletin, source)


def apply_bulletin(actor: Actor, bulletin: vigilance.Bulletin, source: str) -> list[dict[str, Any]]:
    ours = departements()
    results = [record_level(actor, level.departement, level.phenomenon, level.color, source=source)
               for level in vigilance.levels_for(bulletin, ours).values()]
    others: dict[tuple[str, str], int] = {}
    for level in bulletin.levels:
        if level.day == "J" and level.phenomenon in domain.PHENOMENES and level.departement not in ours \
                and level.color >= 2:
            key = (level.departement, level.phenomenon)
            others[key] = max(others.get(key, 0), level.color)
    for (dep, phenomenon), colour in sorted(others.items()):
        record_level(actor, dep, phenomenon, colour, source=source)
    return results


def fetch_vigilance() -> dict[str, Any]:
    """The hourly job when PROACTIF_VIGILANCE_URL is set: the current bulletin, applied like an imported file."""
    from proactif.accounts.domain import system_actor
    from proactif.watch import vigilance_fetch

    if not settings.VIGILANCE_URL:
        return {"skipped": "PROACTIF_VIGILANCE_URL non défini"}
    try:
        bulletin = vigilance_fetch.fetch(settings.VIGILANCE_URL, api_key=settings.VIGILANCE_API_KEY)
    except vigilance.VigilanceError as exc:
        log.warning("vigilance feed unreadable", error=str(exc))
        return {"error": str(exc)}
    results = apply_bulletin(system_actor("watch.vigilance"), bulletin, source="url")
    return {"levels": len(results), "started": sum(1 for r in results if r["started"])}


def end_plan(actor: Actor, plan_id: int) -> Plan:
    with transaction.atomic():
        plan = Plan.objects.select_for_update().filter(pk=plan_id, ended_at__isnull=True).first()
        if plan is None:
            raise PlanError(f"plan {plan_id} inconnu ou déjà levé")
        Plan.objects.filter(pk=plan.pk).update(status="terminee", ended_at=clock.now())
        VigilanceReading.objects.create(departement=plan.departement, phenomenon=plan.phenomenon, level=plan.level,
                                        day=clock.today(), source="agent", recorded_by=actor.label,
                                        recorded_at=clock.now(), ours=True, effect="plan levé par un agent")
    plan.refresh_from_db()
    stop_plan_paths(plan)
    return plan


# --- the daily round ------------------------------------------------------------------------------------------
def _round_due(plan: Plan, day: date) -> bool:
    started = plan.started_at.astimezone(clock.local_tz()).date()
    return (day - started).days % max(plan.interval_days, 1) == 0


def prioritised(plan: Plan, day: date) -> list[CheckIn]:
    """Every registered resident's contact of `day`, with its priority and reasons, not saved: what a yellow
    vigilance prepares and an orange one starts — the highest priority first."""
    entries = list(Registration.objects.filter(status="inscrite").values_list(
        "id", "person_id", "lives_alone", "no_family_nearby", "quartier_id", "need__id"))
    residents = registry.residents([e[1] for e in entries])
    last = _last_outcomes([e[0] for e in entries], plan, day)
    now = clock.now()
    rows = []
    for reg_id, person_id, alone, no_family, quartier_id, need_id in entries:
        resident = residents.get(person_id)
        if resident is None or not resident.active:
            continue
        age = domain.age_on(resident.born, day) if resident.born else None
        situation = domain.Situation(alone, no_family, need_id is not None, last.get(reg_id, ""),
                                     bool(resident.mobile), age)
        score, reasons = domain.priority(situation)
        rows.append(CheckIn(plan=plan, registration_id=reg_id, person_id=person_id, day=day,
                            quartier_id=resident.quartier_id or quartier_id, priority=score, reasons=reasons,
                            call_first=domain.call_first(situation), created_at=now))
    rows.sort(key=lambda c: (-c.priority, c.registration_id))
    return rows


def start_round(plan: Plan, day: date) -> dict[str, int]:
    """Create the day's check-ins of every registered person, prioritised, and start each one's contact path
    (the SMS, the retry, the person to warn, the visit). Idempotent per (plan, person, day)."""
    if plan.level < domain.CAMPAIGN_LEVEL or plan.ended_at is not None:
        return {"to_contact_today": 0, "call_list": 0}
    if not _round_due(plan, day):
        return {"to_contact_today": CheckIn.objects.filter(plan=plan, day=day).count(),
                "call_list": CheckIn.objects.filter(plan=plan, day=day, call_first=True).count()}
    CheckIn.objects.bulk_create(prioritised(plan, day), ignore_conflicts=True, batch_size=2000)
    started = 0
    if not path_fits_today(clock.now()):
        # Too late in the day for the SMS, its retry and the person to warn before the hours close: the waits
        # would run overnight (a visit task at midnight for an SMS not yet sent). The agents on duty call from
        # the list; the next morning's round starts everyone's path.
        late = CheckIn.objects.filter(plan=plan, day=day, instance_id__isnull=True, answer="")
        for checkin in late:
            CheckIn.objects.filter(pk=checkin.pk).update(call_first=True, reasons=[*checkin.reasons, "tardif"])
        log.info("watch round started late: no paths", plan=plan.pk, day=day.isoformat())
        return {"to_contact_today": CheckIn.objects.filter(plan=plan, day=day).count(),
                "call_list": CheckIn.objects.filter(plan=plan, day=day, call_first=True).count()}
    for checkin in CheckIn.objects.filter(plan=plan, day=day, instance_id__isnull=True, answer=""):
        if checkin.call_first and "sans_sms" in checkin.reasons:
            continue  # no mobile: the agents call first; the path starts if the calls fail (`escalate`)
        started += _start_path(checkin)
    total = CheckIn.objects.filter(plan=plan, day=day).count()
    call_list = CheckIn.objects.filter(plan=plan, day=day, call_first=True).count()
    log.info("watch round started", plan=plan.pk, day=day.isoformat(), checkins=total, paths=started)
    return {"to_contact_today": total, "call_list": call_list}


PATH_NEEDS = timedelta(hours=6)  # the SMS, 2 h, the retry, 2 h, the person to warn, 2 h: within the day's hours


def path_fits_today(now: datetime) -> bool:
    """Whether a contact path started now runs to the person to warn before the watch's hours close."""
    from proactif.messaging.domain import parse_hours

    _, end = parse_hours(settings.WATCH_HOURS)
    local = now.astimezone(clock.local_tz())
    closing = datetime.combine(local.date(), end, local.tzinfo)
    return local + PATH_NEEDS <= closing


def _start_path(checkin: CheckIn) -> int:
    instance = journeys.start(JOURNEY, checkin.person_id, subject_id=checkin.pk, context={"veille_id": checkin.pk})
    if instance is None:
        return 0
    CheckIn.objects.filter(pk=checkin.pk).update(instance_id=instance.pk)
    return 1


def _last_outcomes(registration_ids: list[int], plan: Plan, day: date) -> dict[int, str]:
    """Each person's outcome at the previous round (any plan): what orders today's."""
    out: dict[int, str] = {}
    previous = CheckIn.objects.filter(registration_id__any=registration_ids, day__lt=day).order_by("day").values_list(
        "registration_id", "answer", "instance_id")
    rows = list(previous)
    nodes = journeys.nodes_of([i for _, _, i in rows if i])
    for reg_id, answer, instance_id in rows:
        escalated = nodes.get(instance_id, "") in ESCALATED_NODES if instance_id else False
        out[reg_id] = answer or ("injoignable" if escalated else "")
    return out


def run_due_rounds(day: date | None = None) -> dict[str, int]:
    """The daily job: today's round of every plan in campaign."""
    day = day or clock.today()
    figures: Counter[str] = Counter()
    for plan in live_plans():
        if plan.level >= domain.CAMPAIGN_LEVEL:
            figures.update(start_round(plan, day))
    return dict(figures)


def stop_plan_paths(plan: Plan) -> int:
    """The plan was lifted: today's unanswered contact paths stop (their tasks stay for agents to close)."""
    ids = list(CheckIn.objects.filter(plan=plan, instance_id__isnull=False, answer="").values_list(
        "instance_id", flat=True))
    return journeys.stop_instances(ids, "plan levé")


def stop_person(person_id: int, reason: str) -> int:
    ids = list(CheckIn.objects.filter(person_id=person_id, instance_id__isnull=False).values_list(
        "instance_id", flat=True))
    return journeys.stop_instances(ids, reason)


# --- answers and calls ----------------------------------------------------------------------------------------
def answer(checkin: CheckIn, value: str, channel: str, by: str = "") -> bool:
    """Record the day's answer (a later « 2 » overrides a « 1 »: help is never hidden) and tell the journey."""
    if value not in ("ok", "besoin_aide"):
        raise PlanError(f"réponse inconnue : {value}")
    if checkin.answer == value or (checkin.answer == "besoin_aide" and value == "ok" and channel == "sms"):
        return False
    now = clock.now()
    CheckIn.objects.filter(pk=checkin.pk).update(answer=value, answer_channel=channel, answered_at=now,
                                                 handled_at=None, handled_by="")
    events.publish("veille_ok" if value == "ok" else "veille_aide", person_id=checkin.person_id,
                   instance_id=checkin.instance_id)
    return True


def on_reply(event: str, person_id: int | None = None, instance_id: int | None = None, text: str = "",
             **_: Any) -> None:
    """An SMS reply « 1 » or « 2 » to a check-in (listener of "reply_received")."""
    if person_id is None:
        return
    value = domain.reply_answer(text)
    if value is None:
        return
    if instance_id is not None:  # the reply answers a message of a journey: a check-in's, or not ours at all
        checkin = CheckIn.objects.filter(instance_id=instance_id, plan__ended_at__isnull=True).first()
    else:  # no message to that number (a gateway's inbound number, a person the agents call): today's check-in
        checkin = CheckIn.objects.filter(person_id=person_id, day=clock.today(),
                                         plan__ended_at__isnull=True).order_by("-id").first()
    if checkin is not None:
        answer(checkin, value, "sms")


def record_call(actor: Actor, checkin_id: int, outcome: str, note: str = "") -> CheckIn:
    """An agent's call or visit and its outcome: an answer settles the day; three failed calls, or a wrong
    number, start the no-answer path for a person the SMS cannot reach."""
    if outcome not in domain.CALL_OUTCOMES:
        raise PlanError(f"issue d'appel inconnue : {outcome} ({', '.join(domain.CALL_OUTCOMES)})")
    with transaction.atomic():
        checkin = CheckIn.objects.select_for_update().select_related("plan", "registration").filter(
            pk=checkin_id).first()
        if checkin is None:
            raise PlanError(f"contact {checkin_id} inconnu")
        if checkin.plan.ended_at is not None:
            raise PlanError("ce plan est levé : ses contacts ne s'enregistrent plus")
        if checkin.registration.status != "inscrite":
            raise PlanError("cette personne n'est plus inscrite au registre")
        Call.objects.create(checkin=checkin, at=clock.now(), by=actor.label, outcome=outcome, note=note.strip()[:500])
        CheckIn.objects.filter(pk=checkin.pk).update(attempts=checkin.attempts + 1)
        checkin.attempts += 1
        settles = domain.CALL_OUTCOMES[outcome][1]
        channel = "visite" if outcome.startswith("visite") else "appel"
        if settles:
            answer(checkin, settles, channel, actor.label)
            if outcome == "secours":
                CheckIn.objects.filter(pk=checkin.pk).update(handled_at=clock.now(), handled_by=actor.label)
        elif checkin.instance_id is None and (outcome == "faux_numero" or checkin.attempts >= 3):
            _start_path(checkin)  # the path goes on from the person to warn
    checkin.refresh_from_db()
    return checkin


def take_in_charge(actor: Actor, checkin_id: int) -> None:
    updated = CheckIn.objects.filter(pk=checkin_id, answer="besoin_aide", handled_at__isnull=True).update(
        handled_at=clock.now(), handled_by=actor.label)
    if not updated:
        raise PlanError("ce besoin d'aide est déjà pris en charge, ou ce contact n'en signale pas")


# --- what agents read -----------------------------------------------------------------------------------------
def rounds(plan: Plan) -> list[date]:
    return sorted(set(CheckIn.objects.filter(plan=plan).values_list("day", flat=True)), reverse=True)


def day_checkins(plan: Plan, day: date) -> list[CheckIn]:
    """The day's check-ins with their state — answered; unreachable once the path went past the retry; contacted
    once an SMS reached the person or an agent called — needs-help first, then by priority."""
    rows = list(CheckIn.objects.filter(plan=plan, day=day).prefetch_related("calls"))
    paths = [c.instance_id for c in rows if c.instance_id]
    nodes = journeys.nodes_of(paths)
    reached = messaging.reached_instances(paths)
    for c in rows:
        node = nodes.get(c.instance_id or 0, "")
        c.node = node  # type: ignore[attr-defined]
        c.state = domain.day_state(c.answer, c.attempts + (c.instance_id in reached),  # type: ignore[attr-defined]
                                   node in ESCALATED_NODES)
    order = domain.board_order((c.state, c.priority) for c in rows)  # type: ignore[attr-defined]
    return [rows[i] for i in order]


def board(plan: Plan, day: date) -> dict[str, Any]:
    """Coverage of a day: contacted, fine, needs help, unreachable — in all and per quartier (counts only)."""
    rows = day_checkins(plan, day)
    names = dict(registry.quartiers().values_list("id", "nom"))
    per: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for c in rows:
        state = c.state  # type: ignore[attr-defined]
        quartier = names.get(c.quartier_id or 0, "Sans quartier")
        for counter in (per[quartier], total):
            counter["total"] += 1
            counter[state] += 1
            if state != "a_contacter":
                counter["contactes"] += 1
    return {"total": total, "quartiers": sorted(per.items()), "rows": rows}


def person_checkins(registration_id: int, limit: int = 20) -> list[CheckIn]:
    return list(CheckIn.objects.filter(registration_id=registration_id).select_related("plan").prefetch_related(
        "calls").order_by("-day")[:limit])


def readings(limit: int = 30) -> list[VigilanceReading]:
    return list(VigilanceReading.objects.all()[:limit])


def contact_recipients(instances: list[Any]) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
    """The persons to warn in an emergency of the check-ins these journey instances follow (`to:
    veille.contact_urgence`): their mobile (SMS), else their e-mail."""
    by_instance = {i.pk: (i.context or {}).get("veille_id") for i in instances}
    checkins = dict(CheckIn.objects.filter(pk__any=[v for v in by_instance.values() if v]).values_list(
        "id", "registration_id"))
    contacts: dict[int, list[Contact]] = defaultdict(list)
    for contact in Contact.objects.filter(registration_id__any=list(set(checkins.values())), role="urgence"):
        contacts[contact.registration_id].append(contact)
    synthetic = registry.synthetic_person_ids([i.person_id for i in instances])
    out: dict[int, list[tuple[str, str, dict[str, Any]]]] = {}
    for instance in instances:
        checkin_id = by_instance.get(instance.pk)
        found = []
        for contact in contacts.get(checkins.get(checkin_id or 0, 0), []):
            context = {"veille_id": checkin_id, "contact_id": contact.pk, "synthetic": instance.person_id in synthetic}
            channel = domain.contact_channel(contact.telephone, contact.email)
            if channel is not None:
                found.append((*channel, context))
        out[instance.pk] = found
    return out


def message_views(checkin_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Template data `veille` of the check-in messages: the phenomenon, and for the person to warn the
    registered person's name and the contact's."""
    rows = {c.pk: c for c in CheckIn.objects.filter(pk__any=checkin_ids).select_related("plan")}
    residents = registry.residents([c.person_id for c in rows.values()])
    contacts = {c.registration_id: c for c in Contact.objects.filter(
        registration_id__any=[c.registration_id for c in rows.values()], role="urgence").order_by("-rank")}
    out = {}
    for pk, c in rows.items():
        resident = residents.get(c.person_id)
        contact = contacts.get(c.registration_id)
        canicule = c.plan.phenomenon == "canicule"
        out[pk] = {"phenomene": "canicule" if canicule else "grand froid",
                   "periode": "pendant la canicule" if canicule else "pendant le grand froid",
                   "periode_phrase": "Pendant la canicule" if canicule else "Pendant le grand froid",
                   "personne": resident.display_name if resident else "", "contact": contact.name if contact else ""}
    return out
