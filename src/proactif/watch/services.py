"""Watch use cases — the register of vulnerable people (L121-6-1 CASF) and the heatwave and cold-wave plans: the
entry point for views, the CLI, tasks and the other capabilities.

The register serves the alert and emergency plans only: every read goes through an `Access` for the purpose
`prevention_sante` (the pages are exclusive to it: not even `action_sociale` opens them) and writes the access
log naming the persons. The plans' campaign lives in `_campaign`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet

from proactif.accounts.domain import Access, AccessDenied, Actor, Section
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.watch import _broker as broker
from proactif.watch import _campaign as campaign
from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _register as register
from proactif.watch import domain
from proactif.watch.models import CheckIn, Need, Plan, Registration

PURPOSE = domain.PURPOSE
COMMUNICATION = domain.COMMUNICATION
SERVICE = domain.SERVICE
SECTIONS = [Section.VEILLE.value]


def _require(access: Access) -> None:
    if access.purpose != PURPOSE and access.purpose != "rgpd":
        raise AccessDenied("le registre des personnes vulnérables ne s'ouvre qu'au titre de la finalité "
                           "« Prévention santé et veille des personnes vulnérables »")
    access.require(Section.VEILLE)


def log_read(access: Access, person_ids: Iterable[int], action: str = "view", **detail: Any) -> None:
    """One access-log row naming the persons a page or a file showed."""
    _require(access)
    ids = sorted(set(person_ids))
    if ids:
        audit.record(access.actor, action, purpose=access.purpose, person_ids=ids, sections=SECTIONS,
                     detail={"registre": True, **detail})


# --- reads ----------------------------------------------------------------------------------------------------
def entries(status: str = "inscrite", quartier_id: int | None = None, qualite: str = "", requested_by: str = "",
            flag: str = "") -> QuerySet[Registration]:
    rows = Registration.objects.all()
    if status:
        rows = rows.filter(status=status)
    if quartier_id:
        rows = rows.filter(quartier_id=quartier_id)
    if qualite:
        rows = rows.filter(qualite=qualite)
    if requested_by:
        rows = rows.filter(requested_by=requested_by)
    today = clock.today()
    if flag == "accuse_en_retard":
        rows = rows.filter(acknowledged_on__isnull=True, requested_on__lt=today.fromordinal(
            today.toordinal() - domain.ACK_DAYS))
    elif flag == "a_confirmer":
        rows = rows.filter(confirmed_on__lt=today.replace(year=today.year - 1) if not (
            today.month == 2 and today.day == 29) else today.replace(year=today.year - 1, day=28))
    elif flag == "sans_contact":
        rows = rows.annotate(n=Count("contacts", filter=Q(contacts__role="urgence"))).filter(n=0)
    return rows.order_by("-requested_on", "-id")


# --- the register's writes (`_register`) ---------------------------------------------------------------------
WatchError = register.WatchError
ContactInput = register.ContactInput
Request = register.Request
phone = register.phone
applicant = register.applicant
objected = register.objected
enrol = register.enrol
acknowledge = register.acknowledge
remove = register.remove
confirm = register.confirm
set_need = register.set_need
reconcile = register.reconcile
request_from_form = register.request_from_form
acknowledgement_views = register.acknowledgement_views
enrol_from_consents = register.enrol_from_consents
import_transmission = register.import_transmission
TRANSMISSION_COLUMNS = register.TRANSMISSION_COLUMNS


def with_residents(access: Access, rows: list[Registration], action: str = "view") -> list[dict[str, Any]]:
    """The entries with their residents' names, ages, addresses and phones, the read logged naming them."""
    residents = registry.residents([r.person_id for r in rows])
    log_read(access, residents, action)
    today = clock.today()
    out = []
    for r in rows:
        resident = residents.get(r.person_id)
        out.append({"entry": r, "resident": resident, "id": r.pk,
                    "name": resident.display_name if resident else f"personne {r.person_id}",
                    "age": domain.age_on(resident.born, today) if resident and resident.born else None,
                    "address": resident.address if resident else "", "quartier": resident.quartier if resident else "",
                    "telephone": r.telephone, "qualite": domain.QUALITES.get(r.qualite, r.qualite),
                    "demandeur": r.get_requested_by_display(), "requested_on": r.requested_on})
    return out


def entry(access: Access, registration_id: int) -> dict[str, Any]:
    """An entry in full: the resident, the request, contacts, needs, history and the last check-ins (logged)."""
    registration = Registration.objects.filter(pk=registration_id).first()
    if registration is None:
        raise LookupError(registration_id)
    view = with_residents(access, [registration])[0]
    need = Need.objects.filter(registration=registration).first()
    return {**view, "contacts": list(registration.contacts.all()), "need": need,
            "events": list(registration.events.all()), "checkins": campaign.person_checkins(registration.pk),
            "confirmation_due": domain.confirmation_due(registration.confirmed_on) if registration.confirmed_on
            else None, "ack_due": domain.ack_due(registration.requested_on)}


def registered_count() -> int:
    return Registration.objects.filter(status="inscrite").count()


def holders(person_ids: list[int]) -> set[int]:
    """The contact basis of `veille_sante`: the persons the register holds now (checked at send time)."""
    return set(Registration.objects.filter(person_id__any=person_ids, status="inscrite").values_list("person_id",
                                                                                                    flat=True))


def figures() -> dict[str, Any]:
    """The register's size by quality and requester (counts only: nobody named)."""
    live = Registration.objects.filter(status="inscrite")
    return {"registered": live.count(),
            "by_qualite": dict(live.values_list("qualite").annotate(n=Count("id")).order_by()),
            "by_requester": dict(live.values_list("requested_by").annotate(n=Count("id")).order_by()),
            "removed": Registration.objects.filter(status="radiee").count()}


def candidate(access: Access, person_id: int) -> dict[str, Any] | None:
    """A resident an agent is about to register: who they are, what the registry knows of their situation, the
    qualities they may be registered under, and whether they objected or are already registered (logged)."""
    resident = registry.residents([person_id]).get(person_id)
    if resident is None:
        return None
    log_read(access, [person_id], "view", inscription=True)
    _, facts = applicant(person_id)
    today = clock.today()
    current = Registration.objects.filter(person_id=person_id).first()
    return {"resident": resident, "age": domain.age_on(resident.born, today) if resident.born else None,
            "eligible": domain.eligible_qualites(facts, today), "handicap": resident.handicap,
            "registered": current is not None and current.status == "inscrite", "registration": current,
            "objected": objected(person_id), "lives_alone": resident.household_size == 1}


# --- the plans (the campaign's rules live in `_campaign`) -----------------------------------------------------
PlanError = campaign.PlanError
VIGILANCE_MAX_BYTES = 5 * 1024 * 1024
departements = campaign.departements
live_plans = campaign.live_plans
readings = campaign.readings
record_level = campaign.record_level
end_plan = campaign.end_plan
rounds = campaign.rounds
record_call = campaign.record_call
take_in_charge = campaign.take_in_charge
on_reply = campaign.on_reply
run_due_rounds = campaign.run_due_rounds
contact_recipients = campaign.contact_recipients
message_views = campaign.message_views


def get_plan(plan_id: int) -> Plan | None:
    return Plan.objects.filter(pk=plan_id).first()


def get_registration(registration_id: int) -> Registration | None:
    return Registration.objects.filter(pk=registration_id).first()


def checkin(checkin_id: int) -> CheckIn | None:
    return CheckIn.objects.filter(pk=checkin_id).first()


def board(plan: Plan, day: date) -> dict[str, Any]:
    """The day's coverage (counts) and its check-ins, needs-help first — nobody named yet: the page names the rows
    it shows (`name_checkins`, logged)."""
    return campaign.board(plan, day)


def prepared(plan: Plan, day: date) -> list[CheckIn]:
    """A yellow plan's list: every registered person in the order an orange level would contact them (not saved,
    nobody named until a page shows them)."""
    return campaign.prioritised(plan, day)


def call_list(plan: Plan, day: date, everyone: bool = False) -> list[CheckIn]:
    """Who to call now: those the SMS cannot reach or who need a call first, those who need help or are unreachable,
    and anyone who has not answered the SMS and its retry; `everyone`: every person of the day not yet fine."""
    rows = [c for c in campaign.day_checkins(plan, day) if c.state != "ok"]  # type: ignore[attr-defined]
    if not everyone:
        rows = [c for c in rows if c.call_first or c.state in ("injoignable", "besoin_aide")  # type: ignore[attr-defined]
                or c.node not in ("", "bilan", "attente_bilan")]  # type: ignore[attr-defined]
    return rows


def name_checkins(access: Access, rows: list[CheckIn], action: str = "view") -> list[CheckIn]:
    """The rows a page (or its file) shows, with the persons' names, ages, phones and entries; the read logged."""
    _with_names(access, rows, action)
    return rows


def _with_names(access: Access, rows: list[CheckIn], action: str) -> None:
    residents = registry.residents([c.person_id for c in rows])
    log_read(access, residents, action, plan=rows[0].plan_id if rows else None)
    entries = {r.pk: r for r in Registration.objects.filter(pk__any=[c.registration_id for c in rows]).prefetch_related(
        "contacts")}
    today = clock.today()
    for c in rows:
        resident = residents.get(c.person_id)
        c.resident = resident  # type: ignore[attr-defined]
        c.name = resident.display_name if resident else f"personne {c.person_id}"  # type: ignore[attr-defined]
        c.age = domain.age_on(resident.born, today) if resident and resident.born else None  # type: ignore[attr-defined]
        c.entry = entries.get(c.registration_id)  # type: ignore[attr-defined]
        c.phones = [p for p in (c.entry.telephone if c.entry else "", resident.mobile if resident else "",  # type: ignore[attr-defined]
                                resident.landline if resident else "") if p]
        c.phones = list(dict.fromkeys(c.phones))  # type: ignore[attr-defined]


def call_script(plan: Plan) -> list[str]:
    """What the agent says and checks on the phone."""
    heat = plan.phenomenon == "canicule"
    return [
        "Présentez-vous : « Bonjour, ici la mairie, service de veille "
        f"{'canicule' if heat else 'grand froid'}. Votre nom figure au registre : nous prenons de vos "
        "nouvelles. »",
        "Demandez comment la personne se sent, si elle a besoin de quelque chose (courses, médicaments, visite).",
        ("Rappelez les gestes : boire de l'eau régulièrement, fermer volets et fenêtres le jour, se rafraîchir, "
         "éviter de sortir aux heures chaudes, donner des nouvelles à un proche." if heat else
         "Rappelez les gestes : chauffer sans surchauffer, aérer un peu chaque jour, ne pas utiliser de chauffage "
         "d'appoint à combustion en continu, se couvrir en sortant, donner des nouvelles à un proche."),
        "En cas de malaise, de confusion ou de détresse : appelez le 15 immédiatement, puis notez « Secours appelés ».",
        "Notez l'issue de l'appel ; un besoin d'aide apparaît en tête du tableau.",
    ]


def prefet_rows(access: Access, plan: Plan) -> list[dict[str, str]]:
    """The register for the préfet (R121-8 CASF) once the plan is triggered: exactly the register's fields
    (R121-4), every person named in the access log under the action `export_prefet`."""
    if plan.level < domain.CAMPAIGN_LEVEL or plan.ended_at is not None:
        raise PlanError("le registre n'est transmis au préfet que lorsque le plan d'alerte est déclenché "
                        "(vigilance orange ou rouge) et tant qu'il l'est")
    entries = list(Registration.objects.filter(status="inscrite").prefetch_related("contacts").order_by("id"))
    residents = registry.residents([e.person_id for e in entries])
    log_read(access, residents, "export_prefet", plan=plan.pk)
    out = []
    for e in entries:
        r = residents.get(e.person_id)
        if r is None:
            continue
        urgent = [c for c in e.contacts.all() if c.role == "urgence"]
        out.append({
            "nom": r.nom.upper(), "prenoms": r.prenoms, "date_naissance": r.born.strftime("%d/%m/%Y") if r.born else "",
            "qualite": domain.QUALITES[e.qualite], "adresse": r.address,
            "telephone": e.telephone or r.mobile or r.landline,
            "service_domicile": e.home_service,
            "personne_a_prevenir": " ; ".join(f"{c.name} ({c.telephone or c.email})" for c in urgent),
            "date_demande": e.requested_on.strftime("%d/%m/%Y"),
            "tiers_demandeur": f"{e.third_party_name} ({domain.TIERS_QUALITES.get(e.third_party_quality, '')})"
            if e.requested_by == "tiers" else ""})
    return out


def import_vigilance(actor: Actor, data: bytes, source: str = "fichier") -> list[dict[str, Any]]:
    return campaign.import_vigilance(actor, data, source)


def home_block(access: Access) -> dict[str, Any]:
    """The home page's block: the plans in progress and today's coverage (counts only)."""
    plans = live_plans()
    today = clock.today()
    rows = []
    for p in plans:
        figures = campaign.board(p, today)["total"] if p.level >= domain.CAMPAIGN_LEVEL else {}
        rows.append({"plan": p, "label": domain.PLAN_LABELS[p.status], "phenomene": domain.PHENOMENES[p.phenomenon],
                     "figures": figures})
    return {"plans": rows, "registered": registered_count()}


def person_panel(person_id: int) -> dict[str, Any]:
    """The person file's panel (purpose prevention_sante only): registered or not, since when, and the link."""
    return {"registration": Registration.objects.filter(person_id=person_id).first(), "person_id": person_id}


fetch_vigilance = campaign.fetch_vigilance


def seed(seed_value: int) -> dict[str, Any]:
    """The synthetic commune's register (`proactif seed`, `proactif demo`): its share of older and disabled
    residents, and the former « veille santé » consents turned into enrolments."""
    from proactif.accounts.domain import system_actor
    from proactif.watch import _seed

    figures = _seed.seed(seed_value)
    if not figures.get("kept"):
        figures["from_consents"] = enrol_from_consents(system_actor("synth"), acknowledge_now=False)["enrolled"]
    return figures


def simulate_devices(count: int, hours: int, episodes: int, seed: int, host: str = "127.0.0.1", port: int = 1883,
                     speed: float = 0.0) -> dict[str, Any]:
    """Synthetic devices lent to registered persons publish over MQTT and are ingested here (`_simulate`);
    ValueError says what is wrong (no one registered, broker unreachable)."""
    from proactif.watch import _simulate

    return _simulate.simulate_devices(count, hours, episodes, seed, host=host, port=port, speed=speed)


# --- home devices: their credentials, the production broker's files, the MQTT ingester --------------------------
BrokerError = broker.BrokerError
add_device = broker.add_device
renew_token = broker.renew_token
revoke_device = broker.revoke_device
devices = broker.devices
write_broker_config = broker.write_config
ingester_from_url = mqtt_ingest.from_url
run_ingester = mqtt_ingest.run
IngesterRefused = mqtt_ingest.Refused
