"""How the synthetic population behaves, so that demos and simulations show journeys going all the way:
residents open their links and book appointments, come (or not) to the counter, and collect their titles.

Only synthetic residents (source = synth) ever act here, and only when PROACTIF_SYNTHETIC_BEHAVIOUR allows
it ("auto": when the registry holds synthetic residents). Every choice is drawn from a hash of the person
and the day, so a simulation gives the same story on every run.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from proactif.deadlines import services as deadlines
from proactif.kernel import clock
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging
from proactif.registry import services as registry
from proactif.rights import services as rights

log = get_logger(__name__)
BOOKING_LINK = "deadlines.booking"
RIGHTS_LINK = "rights.reponse"

CLICK_AFTER_ALERT = 0.45
CLICK_AFTER_REMINDER = 0.4
BOOK_AFTER_CLICK = 0.85
COME_TO_APPOINTMENT = 0.9
READY_AFTER_DAYS = (10, 25)
COLLECT_PER_DAY = 0.08
# The "vous pourriez avoir droit à…" outreach: after opening the link, some refuse, many ask the CCAS for an
# appointment; the CCAS helps file the claim; the paying body grants most claims some weeks later
RIGHTS_REFUSE = 0.06
RIGHTS_ASK_APPOINTMENT = 0.6
CLAIM_AFTER_DAYS = (3, 15)
GRANTED = 0.8
GRANT_AFTER_DAYS = (15, 45)


# The heatwave check-in (watch): most answer « 1 » a quarter of an hour after the SMS, a few « 2 », the others do
# not answer this SMS (some of them answer the retry)
CHECKIN_TEMPLATES = ["veille.bilan", "veille.relance"]
CHECKIN_FINE, CHECKIN_HELP = 0.72, 0.04
CHECKIN_REPLY_AFTER, CHECKIN_WINDOW = timedelta(minutes=15), timedelta(hours=2)


def chance(*parts: Any) -> float:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:6], "big") / 2**48


def enabled() -> bool:
    mode = settings.SYNTHETIC_BEHAVIOUR
    if mode == "auto":
        return registry.has_synthetic_residents()
    return mode == "on"


def act(now: datetime | None = None) -> dict[str, int]:
    if not enabled():
        return {}
    now = now or clock.now()
    figures = {"clicked": 0, "booked": 0, "came": 0, "missed": 0, "ready": 0, "collected": 0, "rights_refused": 0,
               "rights_appointments": 0, "rights_claims": 0, "rights_granted": 0}
    counter = deadlines.ensure_default_counter()
    synthetic = registry.synthetic_person_ids
    # 1. Residents read yesterday's messages: some open the link, most of those book.
    for message in messaging.sent_with_links(now - timedelta(days=1), now):
        if message.person_id not in synthetic([message.person_id]):
            continue
        rate = CLICK_AFTER_REMINDER if "relance" in message.step else CLICK_AFTER_ALERT
        if chance("click", message.idempotency_key) >= rate:
            continue
        token = messaging.link_token(message.context["lien_id"])
        try:
            opened = messaging.open_link(token, channel=message.channel)
        except messaging.LinkError:
            continue
        figures["clicked"] += 1
        if opened.link.purpose == RIGHTS_LINK:
            _answer_outreach(opened.link.person_id, message.idempotency_key, figures)
            continue
        if opened.link.purpose != BOOKING_LINK or chance("book", message.idempotency_key) >= BOOK_AFTER_CLICK:
            continue
        if _book(counter, opened.link, now):
            figures["booked"] += 1
    # 2. Yesterday's appointments: most came, a few did not.
    for appointment in deadlines.appointments_between(now - timedelta(days=1), now).filter(status="booked"):
        if appointment.person_id not in synthetic([appointment.person_id]):
            continue
        if chance("come", appointment.pk) < COME_TO_APPOINTMENT:
            deadlines.mark_done(appointment.pk, "simulation")
            figures["came"] += 1
        else:
            deadlines.mark_missed(appointment.pk)
            figures["missed"] += 1
    # 3. Titles come back from the production site; people collect them.
    for request in deadlines.requests("deposee"):
        low, high = READY_AFTER_DAYS
        delay = low + int(chance("ready", request.pk) * (high - low))
        if request.created_at + timedelta(days=delay) <= now and request.person_id in synthetic([request.person_id]):
            deadlines.mark_ready(request.pk)
            figures["ready"] += 1
    for request in deadlines.requests("prete"):
        if request.person_id in synthetic([request.person_id]) and \
                chance("collect", request.pk, now.date()) < COLLECT_PER_DAY:
            deadlines.mark_collected(request.pk)
            figures["collected"] += 1
    _follow_claims(now, figures)
    return figures


def _answer_outreach(person_id: int, key: str, figures: dict[str, int]) -> None:
    outreach = rights.outreach_for_person(person_id)
    if outreach is None or outreach.status != "informe":
        return
    draw = chance("rights", key)
    if draw < RIGHTS_REFUSE:
        rights.refuse(outreach.pk, source="simulation")
        figures["rights_refused"] += 1
    elif draw < RIGHTS_REFUSE + RIGHTS_ASK_APPOINTMENT:
        rights.request_appointment(outreach.pk, moment=("matin", "apres_midi", "indifferent")[int(draw * 30) % 3])
        figures["rights_appointments"] += 1


def _follow_claims(now: datetime, figures: dict[str, int]) -> None:
    """The CCAS files the claims of those who asked for help; the paying bodies grant most of them."""
    from proactif.accounts.domain import Access, system_actor

    synthetic = registry.synthetic_person_ids
    access = Access(system_actor("simulation"), rights.PURPOSE)
    for outreach in rights.outreaches("rdv_demande"):
        low, high = CLAIM_AFTER_DAYS
        if outreach.updated_at + timedelta(days=low + int(chance("claim", outreach.pk) * (high - low))) <= now \
                and outreach.person_id in synthetic([outreach.person_id]):
            rights.mark_claimed(access, outreach.pk)
            figures["rights_claims"] += 1
    for outreach in rights.outreaches("demande").exclude(claimed_at=None):
        low, high = GRANT_AFTER_DAYS
        due = outreach.claimed_at + timedelta(days=low + int(chance("grant", outreach.pk) * (high - low)))
        if due > now or chance("granted", outreach.pk) >= GRANTED or rights.granted_recorded(outreach):
            continue
        for item in outreach.benefits:
            registry.record_benefit_receipt(outreach.person_id, rights.received_as(item["benefit"]), item["amount"],
                                            now.date(), "simulation")
        rights.note_decision(outreach.pk)
        figures["rights_granted"] += 1


def _book(counter: Any, link: Any, now: datetime) -> bool:
    days = deadlines.available_days(counter, (now + timedelta(days=3)).date(), days=60)
    if not days:
        return False
    day = days[int(chance("day", link.pk) * min(len(days), 10))][0]
    slots = [s for s in deadlines.day_slots(counter, day) if s.free]
    if not slots:
        return False
    slot = slots[int(chance("slot", link.pk) * len(slots))]
    document = registry.document_views([link.payload.get("subject_id")]).get(link.payload.get("subject_id"), {})
    kind = document.get("kind", "passeport")
    try:
        deadlines.book(deadlines.BookingRequest(link.person_id, counter.pk, slot.starts_at, "renouvellement",
                                                (kind,), (), document.get("id"), link.instance_id, "simulation"))
    except deadlines.BookingError:
        return False
    return True


def _checkins_to_answer(now: datetime) -> list[tuple[Any, str]]:
    """The heatwave check-in SMS of the last two hours that a synthetic resident will answer and has not yet,
    with the answer each draws (« 1 » mostly, « 2 » sometimes; the others stay silent)."""
    messages = list(messaging.sms_sent_between(now - CHECKIN_WINDOW, now + timedelta(seconds=1), CHECKIN_TEMPLATES))
    synthetic = registry.synthetic_person_ids([m.person_id for m in messages if m.person_id is not None])
    answered = messaging.replied_to([m.pk for m in messages])
    out = []
    for message in messages:
        if message.person_id not in synthetic or message.pk in answered:
            continue
        draw = chance("veille", message.idempotency_key)
        if draw < CHECKIN_FINE + CHECKIN_HELP:
            out.append((message, "1" if draw < CHECKIN_FINE else "2"))
    return out


def answer_checkins(now: datetime | None = None) -> dict[str, int]:
    """Synthetic residents answer the heatwave check-in SMS a quarter of an hour after it reached them."""
    if not enabled():
        return {}
    now = now or clock.now()
    figures = {"fine": 0, "help": 0}
    for message, text in _checkins_to_answer(now):
        if message.sent_at + CHECKIN_REPLY_AFTER <= now:
            messaging.receive_sms(message.recipient, text)
            figures["fine" if text == "1" else "help"] += 1
    return figures


def checkin_answers_due() -> datetime | None:
    """When the next synthetic answer is due (simulations jump straight there)."""
    if not enabled():
        return None
    pending = [m.sent_at + CHECKIN_REPLY_AFTER for m, _ in _checkins_to_answer(clock.now())]
    return min(pending) if pending else None
