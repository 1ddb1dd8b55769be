"""Deadline use cases: the agenda (availability, booking, cancelling, rebooking), the title requests from
the counter to the collection, and the status files of the titles produced."""

from __future__ import annotations

import uuid
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from proactif.accounts.domain import Access, Section
from proactif.audit import services as audit
from proactif.deadlines import domain
from proactif.deadlines.models import Appointment, Closure, Counter, OpeningHours, TitleRequest
from proactif.journeys.domain import add_months_date
from proactif.kernel import clock, events
from proactif.kernel.capabilities import ResidentItem
from proactif.kernel.logging import get_logger
from proactif.kernel.text import date_fr
from proactif.messaging import services as messaging
from proactif.registry import services as registry
from proactif.registry.domain import agreement

log = get_logger(__name__)

InvalidPreDemande = domain.InvalidPreDemande
COLLECTION_MONTHS = 3  # a title not collected within 3 months is destroyed


class BookingError(ValueError):
    pass


# --- agenda ---------------------------------------------------------------------------------
def ensure_default_counter() -> Counter:
    """The town hall's counter with usual opening hours, if none exists (demo, first install)."""
    counter = Counter.objects.filter(active=True).first()
    if counter is not None:
        return counter
    counter = Counter.objects.create(name="Hôtel de ville — accueil état civil",
                                     address=settings.LETTER_SENDER_ADDRESS.replace("|", ", "), slot_minutes=20,
                                     seats=2)
    for weekday in range(5):
        OpeningHours.objects.create(counter=counter, weekday=weekday, start=time(8, 30), end=time(12, 0))
        OpeningHours.objects.create(counter=counter, weekday=weekday, start=time(13, 30), end=time(17, 0))
    OpeningHours.objects.create(counter=counter, weekday=5, start=time(9, 0), end=time(12, 0))
    return counter


def counters() -> QuerySet[Counter]:
    return Counter.objects.filter(active=True).prefetch_related("hours")


def _openings(counter: Counter) -> list[domain.Opening]:
    return [domain.Opening(h.weekday, h.start, h.end) for h in counter.hours.all()]


def _booked(counter: Counter, start: date, end: date) -> dict[datetime, int]:
    first = datetime.combine(start, time(0), clock.local_tz())
    last = datetime.combine(end + timedelta(days=1), time(0), clock.local_tz())
    return dict(Tally(moment.astimezone(UTC) for moment in Appointment.objects.filter(
        counter=counter, status="booked", starts_at__gte=first, starts_at__lt=last).values_list("starts_at",
                                                                                           flat=True)))


def day_slots(counter: Counter, day: date) -> list[domain.Slot]:
    closed = set(Closure.objects.filter(day=day).filter(Q(counter=counter) | Q(counter__isnull=True))
                 .values_list("day", flat=True))
    return domain.slots(day, _openings(counter), counter.slot_minutes, counter.seats, _booked(counter, day, day),
                        closed, now=clock.now(), alsace_moselle=settings.ALSACE_MOSELLE, tz=clock.local_tz())


def available_days(counter: Counter, start: date | None = None, days: int = 42) -> list[tuple[date, int]]:
    """Days with free seats over the coming weeks, and how many."""
    start = start or clock.today()
    end = start + timedelta(days=days)
    booked = _booked(counter, start, end)
    closed = set(Closure.objects.filter(day__gte=start, day__lte=end).filter(
        Q(counter=counter) | Q(counter__isnull=True)).values_list("day", flat=True))
    openings = _openings(counter)
    out = []
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        free = sum(s.free for s in domain.slots(day, openings, counter.slot_minutes, counter.seats, booked, closed,
                                                now=clock.now(), alsace_moselle=settings.ALSACE_MOSELLE,
                                                tz=clock.local_tz()))
        if free:
            out.append((day, free))
    return out


@dataclass(frozen=True)
class BookingRequest:
    person_id: int
    counter_id: int
    starts_at: datetime
    case: str = "renouvellement"
    kinds: tuple[str, ...] = ("passeport",)
    pre_demandes: tuple[str, ...] = ()
    document_id: int | None = None
    instance_id: int | None = None
    created_by: str = "portail"


def book(request: BookingRequest) -> Appointment:
    """Take a free seat at that time (two people booking the last seat: one gets it, the other is told)."""
    if request.case not in dict(Appointment.CASES):
        raise BookingError("motif de demande inconnu")
    counter = Counter.objects.prefetch_related("hours").get(pk=request.counter_id, active=True)
    slot = next((s for s in day_slots(counter, request.starts_at.astimezone(clock.local_tz()).date())
                 if s.starts_at == request.starts_at.astimezone(clock.local_tz())), None)
    if slot is None:
        raise BookingError("ce créneau n'existe pas ou est passé")
    for _ in range(counter.seats + 1):
        taken = set(Appointment.objects.filter(counter=counter, starts_at=slot.starts_at, status="booked")
                    .values_list("seat", flat=True))
        seat = next((s for s in range(counter.seats) if s not in taken), None)
        if seat is None:
            raise BookingError("ce créneau vient d'être pris : choisissez-en un autre")
        try:
            with transaction.atomic():
                appointment = Appointment.objects.create(
                    counter=counter, starts_at=slot.starts_at, ends_at=slot.ends_at, seat=seat,
                    person_id=request.person_id, case=request.case, kinds=list(request.kinds),
                    pre_demandes=list(request.pre_demandes), document_id=request.document_id,
                    instance_id=request.instance_id, uid=f"{uuid.uuid4().hex}@proactif", created_at=clock.now(),
                    created_by=request.created_by[:254])
                _confirm(appointment)
                events.publish("appointment_booked", person_id=request.person_id, instance_id=request.instance_id,
                               appointment_id=appointment.pk)
            return appointment
        except IntegrityError:
            continue  # the seat was taken between our read and our write: try the next one
    raise BookingError("ce créneau vient d'être pris : choisissez-en un autre")


def _confirm(appointment: Appointment, cancelled: bool = False) -> None:
    kind = "annulation" if cancelled else "confirmation"
    messaging.send([messaging.MessageSpec(
        f"rdv:{appointment.pk}:{kind}", appointment.person_id, f"rdv.{kind}", "rappels_echeances", "etat_civil",
        lane="transactional", policy=["email", "sms", "letter"], context={"appointment_id": appointment.pk},
        trigger="rendez-vous", instance_id=appointment.instance_id, step=f"rendez-vous:{kind}")])


def cancel(appointment_id: int, by: str, *, rebooking: bool = False) -> Appointment:
    """Free the seat. A cancellation alone is confirmed to the citizen and moves their journey back to
    waiting for a booking; within a rebooking only the new booking is (one message, one event)."""
    now = clock.now()
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
        if appointment.status != "booked":
            raise BookingError("ce rendez-vous n'est plus réservé")
        if appointment.starts_at <= now:
            raise BookingError("ce rendez-vous est passé")
        Appointment.objects.filter(pk=appointment.pk).update(status="cancelled", cancelled_at=now)
        appointment.status = "cancelled"
        # a confirmation still waiting (quiet hours, a queue) must not reach the citizen after the cancellation
        messaging.withdraw([f"rdv:{appointment.pk}:confirmation"], "rendez-vous annulé avant l'envoi")
        if not rebooking:
            _confirm(appointment, cancelled=True)
            events.publish("appointment_cancelled", person_id=appointment.person_id,
                           instance_id=appointment.instance_id, appointment_id=appointment.pk)
    log.info("appointment cancelled", appointment_id=appointment.pk, by_agent=by != "portail")
    return appointment


def rebook(appointment_id: int, starts_at: datetime, by: str) -> Appointment:
    """Move an appointment to another slot (the old seat is freed only if the new one is taken)."""
    with transaction.atomic():
        old = cancel(appointment_id, by, rebooking=True)
        return book(BookingRequest(old.person_id, old.counter_id, starts_at, old.case, tuple(old.kinds),
                                   tuple(old.pre_demandes), old.document_id, old.instance_id, by))


def current_appointment(person_id: int) -> Appointment | None:
    """The person's next booked appointment, if any."""
    return Appointment.objects.select_related("counter").filter(
        person_id=person_id, status="booked", starts_at__gt=clock.now()).order_by("starts_at").first()


def open_requests(person_id: int) -> QuerySet[TitleRequest]:
    return TitleRequest.objects.filter(person_id=person_id, status__in=("deposee", "prete")).order_by("created_at")


@dataclass
class AgendaRow:
    starts_at: datetime
    free: int
    appointments: list[Appointment]


def agenda(access: Access, counter: Counter, day: date, action: str = "view") -> list[AgendaRow]:
    """A counter's day for the agents: every slot, who booked it (names: a logged read — `action` "export_list" when
    the day leaves as a file), what is free."""
    closed = set(Closure.objects.filter(day=day).filter(Q(counter=counter) | Q(counter__isnull=True))
                 .values_list("day", flat=True))
    grid = domain.slots(day, _openings(counter), counter.slot_minutes, counter.seats, _booked(counter, day, day),
                        closed, now=None, alsace_moselle=settings.ALSACE_MOSELLE, tz=clock.local_tz())
    booked = list(appointments_on(day, counter.pk).exclude(status="cancelled"))
    names = registry.names_for(access, [a.person_id for a in booked], action)
    rows = {slot.starts_at: AgendaRow(slot.starts_at, slot.free, []) for slot in grid}
    for appointment in booked:
        appointment.name = names.get(appointment.person_id, "")  # type: ignore[attr-defined]
        local = appointment.starts_at.astimezone(clock.local_tz())
        rows.setdefault(local, AgendaRow(local, 0, [])).appointments.append(appointment)
    return [rows[k] for k in sorted(rows)]


def closures(counter: Counter) -> QuerySet[Closure]:
    return Closure.objects.filter(Q(counter=counter) | Q(counter__isnull=True), day__gte=clock.today()).order_by("day")


def configure_counter(access: Access, counter_id: int, *, name: str, address: str, slot_minutes: int, seats: int,
                      hours: list[tuple[int, time, time]]) -> Counter:
    """New settings for a counter. Booked appointments stay as they are, even outside the new hours."""
    with transaction.atomic():
        counter = Counter.objects.select_for_update().get(pk=counter_id)
        counter.name, counter.address, counter.slot_minutes, counter.seats = name, address, slot_minutes, seats
        counter.save()
        counter.hours.all().delete()
        OpeningHours.objects.bulk_create([OpeningHours(counter=counter, weekday=d, start=a, end=b)
                                          for d, a, b in hours])
    log.info("counter configured", counter_id=counter.pk, by=access.actor.label)
    return counter


def add_closure(counter_id: int | None, day: date, reason: str) -> Closure:
    return Closure.objects.create(counter_id=counter_id, day=day, reason=reason[:200])


def remove_closure(closure_id: int) -> int:
    """Returns how many closures were removed (0: none by that id)."""
    return int(Closure.objects.filter(pk=closure_id).delete()[0])


def record_agent_action(access: Access, person_id: int, action: str, **detail: Any) -> None:
    """An agent changed a person's appointment or title request: in the access log."""
    audit.record(access.actor, "change", purpose=access.purpose, person_ids=[person_id],
                 sections=[Section.DOCUMENTS.value], detail={"action": action, **detail})


def record_agent_read(access: Access, person_id: int, what: str, **detail: Any) -> None:
    audit.record(access.actor, "view", purpose=access.purpose, person_ids=[person_id],
                 sections=[Section.DOCUMENTS.value], detail={"what": what, **detail})


def appointments_between(start: datetime, end: datetime) -> QuerySet[Appointment]:
    return Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end)


def appointments_on(day: date, counter_id: int | None = None) -> QuerySet[Appointment]:
    start = datetime.combine(day, time(0), clock.local_tz())
    qs = Appointment.objects.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1)).select_related(
        "counter")
    return qs.filter(counter_id=counter_id) if counter_id else qs


def person_appointments(person_id: int) -> QuerySet[Appointment]:
    return Appointment.objects.filter(person_id=person_id).select_related("counter").order_by("-starts_at")


def get_appointment(appointment_id: int) -> Appointment:
    return Appointment.objects.select_related("counter").get(pk=appointment_id)


def ics(appointment: Appointment) -> str:
    pieces = domain.documents_to_bring(appointment.case, appointment.kinds)
    what = " et ".join({"passeport": "passeport", "cni": "carte d'identité"}.get(k, k) for k in appointment.kinds)
    return domain.icalendar(appointment.uid, appointment.starts_at, appointment.ends_at,
                            f"Rendez-vous {what} — {settings.COLLECTIVITE_NAME}", appointment.counter.address,
                            "À apporter :\n- " + "\n- ".join(pieces), clock.now(), settings.COLLECTIVITE_NAME,
                            cancelled=appointment.status == "cancelled")


# --- the request, from the counter to the collection -----------------------------------------
def mark_done(appointment_id: int, by: str) -> list[TitleRequest]:
    """The citizen came: one request per title asked; the journey now waits for the title."""
    now = clock.now()
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
        if appointment.status not in ("booked", "missed"):
            raise BookingError("ce rendez-vous a été annulé")
        Appointment.objects.filter(pk=appointment.pk).update(status="done")
        numbers = list(appointment.pre_demandes) + [""] * len(appointment.kinds)
        return [TitleRequest.objects.create(person_id=appointment.person_id, kind=kind, pre_demande=numbers[i],
                                            appointment=appointment, old_document_id=appointment.document_id,
                                            instance_id=appointment.instance_id, created_at=now)
                for i, kind in enumerate(appointment.kinds)]


def mark_missed(appointment_id: int) -> None:
    appointment = Appointment.objects.get(pk=appointment_id)
    Appointment.objects.filter(pk=appointment_id, status="booked").update(status="missed")
    events.publish("appointment_missed", person_id=appointment.person_id, instance_id=appointment.instance_id,
                   appointment_id=appointment_id)


def mark_ready(request_id: int) -> TitleRequest:
    now = clock.now()
    with transaction.atomic():
        request = TitleRequest.objects.select_for_update().get(pk=request_id)
        if request.status != "deposee":
            return request
        collect_by = add_months_date(clock.today(), COLLECTION_MONTHS)
        TitleRequest.objects.filter(pk=request.pk).update(status="prete", ready_at=now, collect_by=collect_by)
        events.publish("document_ready", person_id=request.person_id, instance_id=request.instance_id,
                       request_id=request.pk)
    request.refresh_from_db()
    return request


def mark_collected(request_id: int, numero: str = "") -> TitleRequest:
    now = clock.now()
    with transaction.atomic():
        request = TitleRequest.objects.select_for_update().get(pk=request_id)
        if request.status == "remise":
            return request
        document = registry.issue_document(request.person_id, request.kind, clock.today(), numero=numero,
                                           replaces=request.old_document_id)
        TitleRequest.objects.filter(pk=request.pk).update(status="remise", collected_at=now,
                                                          new_document_id=document.pk)
        events.publish("document_collected", person_id=request.person_id, instance_id=request.instance_id,
                       request_id=request.pk)
    request.refresh_from_db()
    return request


def requests(status: str = "") -> QuerySet[TitleRequest]:
    qs = TitleRequest.objects.select_related("appointment").order_by("-created_at")
    return qs.filter(status=status) if status else qs


@dataclass
class StatusReport:
    lines: int = 0
    ready: int = 0
    collected: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] | None = None


def import_status_file(path: str) -> StatusReport:
    """A list of titles produced or handed over, keyed by pre-application number: `pre_demande;statut`
    (pret | remis), one line each; unknown numbers are reported with their line."""

    csv_file = registry.open_csv(path)
    if "pre_demande" not in csv_file.header or "statut" not in csv_file.header:
        raise BookingError("colonnes attendues : pre_demande;statut (pret ou remis)")
    report = StatusReport(errors=[])
    assert report.errors is not None
    for line, row in csv_file.rows():
        report.lines += 1
        number, status = row.get("pre_demande", "").upper(), row.get("statut", "").lower()
        if status not in ("pret", "prêt", "remis"):
            report.errors.append((line, "statut", f"statut inconnu « {status[:20]} » (pret ou remis)"))
            continue
        request = TitleRequest.objects.filter(pre_demande=number).exclude(status="abandonnee").first()
        if request is None:
            report.errors.append((line, "pre_demande", f"aucune demande en cours pour « {number[:20]} »"))
            continue
        if status in ("pret", "prêt") and request.status == "deposee":
            mark_ready(request.pk)
            report.ready += 1
        elif status == "remis" and request.status in ("deposee", "prete"):
            mark_collected(request.pk)
            report.collected += 1
        else:
            report.unchanged += 1
    return report


# --- what messages and journeys see ---------------------------------------------------------
def appointment_views(appointment_ids: list[Any]) -> dict[Any, dict[str, Any]]:
    out = {}
    for appointment in Appointment.objects.filter(pk__in=appointment_ids).select_related("counter"):
        local = appointment.starts_at.astimezone(clock.local_tz())
        out[appointment.pk] = {
            "date": date_fr(local.date(), weekday=True), "heure": local.strftime("%Hh%M"),
            "lieu": appointment.counter.name, "adresse": appointment.counter.address,
            "guichet": appointment.counter.name, "numeros_predemande": ", ".join(appointment.pre_demandes),
            "jour": local.date().isoformat(),
            "_racines": {"pieces": domain.documents_to_bring(appointment.case, appointment.kinds)}}
    return out


def request_views(request_ids: list[Any]) -> dict[Any, dict[str, Any]]:
    labels = {"passeport": "passeport", "cni": "carte d'identité"}
    return {r.pk: {"type": labels.get(r.kind, r.kind), **agreement(r.kind), "_racines": {
        "date_limite": date_fr(r.collect_by) if r.collect_by else ""}}
        for r in TitleRequest.objects.filter(pk__in=request_ids)}


def ics_attachment(appointment_id: Any) -> tuple[str, str, str] | None:
    appointment = Appointment.objects.select_related("counter").filter(pk=appointment_id).first()
    if appointment is None:
        return None
    return ("rendez-vous.ics", ics(appointment), "text/calendar")


def journey_appointments(instances: list[Any]) -> dict[int, dict[str, Any]]:
    """The latest booked appointment of each instance (for `rendez_vous.date - 1 day`)."""
    out = {}
    for pk, instance_id, starts_at, status in Appointment.objects.filter(
            instance_id__any=[i.pk for i in instances], status__in=("booked", "done")).order_by(
            "created_at").values_list("id", "instance_id", "starts_at", "status"):
        out[instance_id] = {"date": starts_at.astimezone(clock.local_tz()).date().isoformat(), "statut": status,
                            "id": pk}  # the latest wins
    return out


def collection_deadlines(instances: list[Any]) -> dict[int, dict[str, Any]]:
    out = {}
    for request in TitleRequest.objects.filter(instance_id__any=[i.pk for i in instances]).exclude(collect_by=None):
        out[request.instance_id] = {"date_limite": request.collect_by.isoformat() if request.collect_by else None,
                                    "statut": request.status}
    return out


def figures() -> dict[str, Any]:
    today = clock.today()
    return {
        "appointments": dict(Tally(Appointment.objects.values_list("status", flat=True))),
        "appointments_today": appointments_on(today).filter(status="booked").count(),
        "requests": dict(Tally(TitleRequest.objects.values_list("status", flat=True))),
        "to_collect": TitleRequest.objects.filter(status="prete").count(),
    }


def home_day(access: Access) -> dict[str, Any]:
    """The home page's block: today's appointments at every counter, by state, and the next one; the titles to
    hand over (counts, no names)."""
    now = clock.now()
    today = appointments_on(clock.today()).exclude(status="cancelled")
    states = dict(Tally(today.values_list("status", flat=True)))
    upcoming = today.filter(status="booked", starts_at__gte=now).order_by("starts_at").values_list(
        "starts_at", flat=True).first()
    return {"total": sum(states.values()), "to_come": today.filter(status="booked", starts_at__gte=now).count(),
            "done": states.get("done", 0), "missed": states.get("missed", 0),
            "next_at": upcoming.astimezone(clock.local_tz()) if upcoming else None,
            "to_collect": TitleRequest.objects.filter(status="prete").count(),
            "in_production": TitleRequest.objects.filter(status="deposee").count()}


# --- what a resident reached by their signed link reads on the public site (`assist`) ----------------------
LINK_PURPOSE = "deadlines.booking"  # the titres portal's citizen links
RESIDENT_KINDS = ("passeport", "cni")
RESIDENT_AHEAD_MONTHS = 6  # the renewal journey's first alert comes six months before the expiry
RESIDENT_EXPIRED_MONTHS = 12  # a title expired for a year still calls for a renewal; older ones, a new request
PRE_DEMANDE_SITE = "ants.gouv.fr"


def resident_items(person_id: int) -> list[ResidentItem]:
    """The resident's passport or identity card to renew: expiring within six months or expired for less than a
    year, neither replaced by a newer one nor cancelled, lost or stolen — with the way to book the appointment
    (a citizen link of the titres portal, made for the same person when they follow it)."""
    today = clock.today()
    start, end = add_months_date(today, -RESIDENT_EXPIRED_MONTHS), add_months_date(today, RESIDENT_AHEAD_MONTHS)
    ids = [pk for kind in RESIDENT_KINDS for pk in registry.documents_expiring(kind, start, end).filter(
        person_id=person_id, status__in=("valide", "expire", "en_renouvellement")).values_list("id", flat=True)]
    views = registry.document_views(ids, with_renewal=True)
    current = current_appointment(person_id)
    items = []
    for view in sorted(views.values(), key=lambda v: v["expires_on"] or ""):
        if view["renouvele"]:
            continue
        if current is not None:
            local = current.starts_at.astimezone(clock.local_tz())
            text = (f"Vous avez rendez-vous le {date_fr(local.date(), weekday=True)} à {local:%Hh%M} "
                    f"({current.counter.name}).")
            action = "Voir ou déplacer mon rendez-vous"
        else:
            text = (f"Les délais de rendez-vous peuvent être longs : faites votre pré-demande en ligne sur "
                    f"{PRE_DEMANDE_SITE}, puis prenez rendez-vous à la mairie pour {view['le']} renouveler.")
            action = "Prendre rendez-vous"
        items.append(ResidentItem(key=f"titre-{view['id']}", title=f"Votre {view['type']} {view['echeance']}",
                                  text=text, action=action, link_purpose=LINK_PURPOSE,
                                  payload={"subject_id": view["id"]},
                                  when=date.fromisoformat(view["expires_on"]) if view["expires_on"] else None))
    return items


def person_panel(person_id: int) -> dict[str, Any]:
    """What the person file shows of a resident's appointments and title requests."""
    return {"appointments": list(person_appointments(person_id)[:10]),
            "requests": list(TitleRequest.objects.filter(person_id=person_id).order_by("-created_at")[:10])}
