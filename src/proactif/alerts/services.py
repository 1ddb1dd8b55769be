"""Incidents, their messages and their recipients: the use cases the agent interface, the API and the CLI call.

Sending a message checks the lifecycle and the approval threshold, then freezes the recipients with the message
(one transaction) and fans out their outbox messages on the urgent lane by chunks — see `dispatch`. Consents,
oppositions and the channel (preferred, then fallback) are decided when each message leaves.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Case, Count, F, Max, Min, QuerySet, Value, When
from django.db.models.functions import Coalesce

from proactif.accounts.domain import Access, Actor, Section
from proactif.alerts import _dispatch as dispatch
from proactif.alerts import _examples as examples
from proactif.alerts import _feeds as feeds
from proactif.alerts import _reach as reach
from proactif.alerts import domain
from proactif.alerts.models import Incident, IncidentMessage, IncidentRecipient
from proactif.audit import services as audit
from proactif.geo import services as geo
from proactif.kernel import clock
from proactif.kernel.capabilities import Notice, ResidentItem
from proactif.kernel.charts import Chart, Series
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging
from proactif.registry import services as registry

log = get_logger(__name__)

PURPOSE = "securite_publique"  # the agents' purpose
MESSAGE_PURPOSE = dispatch.MESSAGE_PURPOSE  # the residents' communication purpose (consents, oppositions)
LINK_PURPOSE = dispatch.LINK_PURPOSE
trigger = dispatch.trigger
target_of = dispatch.target_of
features_of = geo.features_of
resume_fan_outs = dispatch.resume_fan_outs
TEXT_LIMIT = 1000
cap_document = feeds.cap_document  # (incident id, seq) → a message as CAP 1.2 XML

IncidentError = domain.IncidentError


def types() -> list[tuple[str, str]]:
    return [(t.code, t.label) for t in domain.TYPES.values()]


# --- creating and targeting -------------------------------------------------------------------------------
@dataclass
class Draft:
    type_code: str
    title: str
    areas: list[dict[str, Any]]  # GeoJSON features
    voie_ids: list[int]
    quartier_ids: list[int]
    address_ids: list[int]
    area_label: str = ""
    exercise: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source: str = "agent"
    source_ref: str = ""


def create(actor: Actor, draft: Draft) -> Incident:
    if draft.type_code not in domain.TYPES:
        raise IncidentError(f"type inconnu : {draft.type_code} ({', '.join(domain.TYPES)})")
    title = draft.title.strip()
    if not title:
        raise IncidentError("donnez un titre à l'incident")
    for feature in draft.areas:
        geo.parse_area(feature)
    if not (draft.areas or draft.voie_ids or draft.quartier_ids or draft.address_ids):
        raise IncidentError("choisissez une zone : tracé, cercle, rue, quartier ou adresses")
    now = clock.now()
    return Incident.objects.create(
        type_code=draft.type_code, title=title[:200], exercise=draft.exercise, areas=draft.areas,
        voie_ids=draft.voie_ids, quartier_ids=draft.quartier_ids, address_ids=draft.address_ids,
        area_label=(draft.area_label or _label(draft))[:300], starts_at=draft.starts_at, ends_at=draft.ends_at,
        source=draft.source[:30], source_ref=draft.source_ref[:120], created_by=actor.label, created_at=now,
        updated_at=now)


def open_incident(actor: Actor, draft: Draft, texts: dict[str, str]) -> tuple[Incident, dict[str, Any]]:
    """Create the incident and send its alert, or neither (a refused text leaves no draft behind)."""
    with transaction.atomic():
        incident = create(actor, draft)
        result = _freeze(actor, incident.pk, "alerte", texts)
    return incident, _fanned_out(result)


def _label(draft: Draft) -> str:
    parts = []
    names = registry.voie_names(draft.voie_ids)
    parts += [names[v] for v in draft.voie_ids if v in names]
    if draft.quartier_ids:
        known = {q.pk: q.nom for q in registry.quartiers()}
        parts += [f"quartier {known[q]}" for q in draft.quartier_ids if q in known]
    if draft.areas:
        parts.append("zone tracée")
    if draft.address_ids:
        parts.append(f"{len(draft.address_ids)} adresse(s)")
    return ", ".join(parts)


def add_area(actor: Actor, incident_id: int, features: Sequence[dict[str, Any]], voie_ids: Sequence[int] = (),
             quartier_ids: Sequence[int] = ()) -> Incident:
    """Widen an incident's area: its residents receive the next message (and every one after)."""
    with transaction.atomic():
        incident = _locked(incident_id)
        if incident.status in ("resolue", "close"):
            raise IncidentError("incident terminé : la zone ne change plus")
        for feature in features:
            geo.parse_area(feature)
        if not (features or voie_ids or quartier_ids):
            raise IncidentError("choisissez la zone à ajouter : tracé, rue ou quartier")
        incident.areas = [*incident.areas, *features]
        incident.voie_ids = sorted({*incident.voie_ids, *voie_ids})
        incident.quartier_ids = sorted({*incident.quartier_ids, *quartier_ids})
        if incident.status != "brouillon":  # already sent: these residents join at the next message
            incident.added_targets = [*incident.added_targets, {"areas": list(features), "voie_ids": list(voie_ids),
                                                                "quartier_ids": list(quartier_ids)}]
        incident.updated_at = clock.now()
        incident.save(update_fields=["areas", "voie_ids", "quartier_ids", "added_targets", "updated_at"])
    log.info("incident area widened", incident=incident_id, actor=actor.label)
    return incident


Reach = reach.Reach


def preview(target: geo.Target, type_code: str = "autre", exercise: bool = False) -> Reach:
    """What sending an alert of this type to the target would do now, per channel — the send's own decisions
    (the map's live count, the API's and the CLI's). An exercise reaches the test contacts only."""
    if exercise:
        return reach.reach_exact(target, type_code, dispatch.exercise_contacts())
    return reach.reach(target, type_code)


def _locked(incident_id: int) -> Incident:
    """The incident, locked until the end of the transaction (one message at a time per incident)."""
    try:
        return Incident.objects.select_for_update().get(pk=incident_id)
    except Incident.DoesNotExist:
        raise LookupError(f"incident {incident_id} inconnu") from None


def get(incident_id: int) -> Incident:
    try:
        return Incident.objects.get(pk=incident_id)
    except Incident.DoesNotExist:
        raise LookupError(f"incident {incident_id} inconnu") from None


def incidents(status: str = "", limit: int = 100) -> QuerySet[Incident]:
    # the recipients of the latest message (they only grow): no count over the recipients' rows
    qs = Incident.objects.annotate(recipients_count=Coalesce(Max("messages__recipients"), 0))
    return (qs.filter(status=status) if status else qs)[:limit]


def messages_of(incident: Incident) -> QuerySet[IncidentMessage]:
    return incident.messages.order_by("seq")


# --- sending ----------------------------------------------------------------------------------------------
def _texts(texts: dict[str, str]) -> dict[str, str]:
    cleaned = {lang: (texts.get(lang) or "").strip() for lang in domain.LANGUAGES}
    if not cleaned["fr"]:
        raise IncidentError("le texte en français est obligatoire")
    for lang, text in cleaned.items():
        if len(text) > TEXT_LIMIT:
            raise IncidentError(f"texte ({lang}) trop long : {len(text)} caractères, {TEXT_LIMIT} au plus")
    return {lang: text for lang, text in cleaned.items() if text}


def send(actor: Actor, incident_id: int, kind: str, texts: dict[str, str]) -> dict[str, Any]:
    """Send an alert, an update or the resolution to every recipient (frozen at the alert, widened by areas
    added since). Above the approval threshold an alert waits for a second agent (`approve`)."""
    return _fanned_out(_freeze(actor, incident_id, kind, texts))


def _fanned_out(result: dict[str, Any]) -> dict[str, Any]:
    """After the freeze has committed: the messages written and queued (not when the alert awaits approval)."""
    if "message_id" in result:
        dispatch.fan_out(result["message_id"])
    return result


def _freeze(actor: Actor, incident_id: int, kind: str, texts: dict[str, str]) -> dict[str, Any]:
    if kind not in domain.MESSAGE_KINDS:
        raise IncidentError(f"type de message inconnu : {kind}")
    texts = _texts(texts)
    with transaction.atomic():
        incident = _locked(incident_id)
        status = domain.next_status(incident.status, kind)
        if kind == "alerte" and not incident.approved_by:
            residents = dispatch.residents_now(incident)
            if incident.exercise and not residents:
                raise IncidentError(
                    "un exercice n'est envoyé qu'aux contacts de test (PROACTIF_ALERT_TEST_CONTACTS) : "
                    + ("aucun n'est configuré" if not settings.ALERT_TEST_CONTACTS else
                       "aucun habitant du registre ne détient ceux qui sont configurés")
                    + " — rien n'a été envoyé")
            if domain.needs_approval(len(residents), settings.ALERT_APPROVAL_THRESHOLD, incident.exercise):
                incident.status, incident.pending = "a_valider", {"kind": kind, "texts": texts}
                incident.approval_requested_by, incident.updated_at = actor.label, clock.now()
                incident.save(update_fields=["status", "pending", "approval_requested_by", "updated_at"])
                log.info("alert waiting for approval", incident=incident.pk, recipients=len(residents))
                return {"incident": incident.pk, "status": "a_valider", "approval_required": True,
                        "recipients": len(residents)}
            return dispatch.freeze(actor, incident, kind, texts, status, residents)
        return dispatch.freeze(actor, incident, kind, texts, status)


def approve(actor: Actor, incident_id: int) -> dict[str, Any]:
    """A second agent approves the alert waiting: it leaves at once."""
    with transaction.atomic():
        incident = _locked(incident_id)
        if incident.status != "a_valider" or not incident.pending:
            raise IncidentError("aucune alerte n'attend de validation")
        if actor.label == incident.approval_requested_by:
            raise IncidentError("la validation revient à un autre agent que celui qui a demandé l'envoi")
        incident.approved_by = actor.label
        result = dispatch.freeze(actor, incident, incident.pending["kind"], incident.pending["texts"], "active",
                                 dispatch.residents_now(incident))
    return _fanned_out(result)


def close(actor: Actor, incident_id: int) -> Incident:
    with transaction.atomic():
        incident = _locked(incident_id)
        if incident.status != "resolue":
            raise IncidentError("annoncez d'abord la fin de l'incident")
        incident.status, incident.closed_at = "close", clock.now()
        incident.updated_at = incident.closed_at
        incident.save(update_fields=["status", "closed_at", "updated_at"])
    log.info("incident closed", incident=incident_id, actor=actor.label)
    return incident


# --- what residents receive, and what they answer ---------------------------------------------------------
def message_views(message_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The `alerte` namespace of a message's template: type, stage, texts, area, times."""
    return {m.pk: domain.message_view(m.incident.type_code, m.incident.title, m.kind, m.texts, m.incident.area_label,
                                      m.incident.exercise, m.seq)
            for m in IncidentMessage.objects.filter(pk__any=message_ids).select_related("incident")}


def message_examples(draft: Draft, texts: dict[str, str]) -> list[examples.ChannelExample]:
    """The alert's message on each of its channels as a resident will receive it, before it goes."""
    return examples.channel_examples(draft.type_code, draft.title.strip(),
                                     draft.area_label or _label(draft) or examples.NO_AREA, draft.exercise, texts)


def record_answer(person_id: int, answer: str, channel: str, note: str = "",
                  incident_id: int | None = None) -> int | None:
    """A resident's "are you safe?" answer, to the given incident or their latest active one. Returns the
    incident's id, or None when they are not a recipient of any active incident."""
    if answer not in ("en_securite", "besoin_aide"):
        raise IncidentError("réponse inconnue")
    qs = IncidentRecipient.objects.filter(person_id=person_id, incident__status__in=("active", "resolue"))
    if incident_id is not None:
        qs = qs.filter(incident_id=incident_id)
    row = qs.order_by("-incident__updated_at").first()
    if row is None:
        return None
    row.answer, row.answer_channel, row.answered_at = answer, channel[:12], clock.now()
    row.note = note[:500]
    row.save(update_fields=["answer", "answer_channel", "answered_at", "note"])
    log.info("safety answer recorded", incident=row.incident_id, answer=answer, channel=channel)
    return row.incident_id


def on_reply(event: str, person_id: int | None = None, instance_id: int | None = None, text: str = "",
             **_: Any) -> None:
    """An SMS reply ('OK', 'AIDE'…) from a resident an active incident reaches (listener of "reply_received")."""
    if person_id is None:
        return
    answer = domain.safety_answer(text)
    if answer:
        record_answer(person_id, answer, "sms", note=text)


def public_notices() -> list[Notice]:
    """The incidents in progress, for the public website's home (what the Atom feed publishes)."""
    return feeds.public_notices()


def resident_items(person_id: int) -> list[ResidentItem]:
    """The incidents in progress whose area covers the resident's home address now (the send's own selection:
    drawn areas, streets, quartiers, addresses, and those added since), never an exercise; newest first, with
    the latest message's French text and the area as the public feed describes it."""
    try:
        person = registry.get_person(person_id)
    except ObjectDoesNotExist:
        return []
    address_id = person.household.address_id if person.household is not None else None
    if address_id is None:
        return []
    items = []
    for incident in Incident.objects.filter(status="active", exercise=False).order_by("-updated_at")[:50]:
        if address_id not in geo.select_addresses(target_of(incident)):  # a sorted array of address ids
            continue
        latest = incident.messages.order_by("-seq").first()
        items.append(ResidentItem(key=f"incident-{incident.pk}",
                                  title=f"{incident.type_label} : {feeds.public_area_label(incident)}",
                                  text=latest.texts.get("fr", "") if latest else "",
                                  when=latest.sent_at if latest else incident.updated_at))
    return items


def home_incidents(access: Access) -> dict[str, Any]:
    """The home page's block: the incidents awaiting a second agent's approval (this agent cannot approve their
    own), the active ones, and who among their recipients still needs help."""
    waiting = Incident.objects.filter(status="a_valider").order_by("created_at")
    active = Incident.objects.filter(status="active").order_by("-created_at")
    need_help = IncidentRecipient.objects.filter(incident__status="active", answer="besoin_aide",
                                                 handled_at__isnull=True).count()
    return {"waiting": list(waiting[:5]), "waiting_count": waiting.count(), "active": list(active[:5]),
            "active_count": active.count(), "need_help": need_help,
            "me": access.actor.label if access else ""}


def answers_chart(incident: Incident) -> Chart:
    """The answers received since the first message, cumulated by hour (by day past two days), one line per
    answer — « en sécurité » plain with dots, « besoin d'aide » dashed with triangles. Counted by the database,
    bucket by bucket (an incident may have 100,000 recipients)."""
    from django.db.models.functions import TruncDay, TruncHour

    answered = IncidentRecipient.objects.filter(incident=incident, answered_at__isnull=False).exclude(answer="")
    span = answered.aggregate(first=Min("answered_at"), last=Max("answered_at"))
    sent = IncidentMessage.objects.filter(incident=incident).order_by("sent_at").values_list(
        "sent_at", flat=True).first()
    title = "Réponses reçues depuis le premier message"
    if span["first"] is None or sent is None:
        return Chart(f"reponses-{incident.pk}", title, (), ())
    tz = clock.local_tz()
    hourly = span["last"] - min(sent, span["first"]) <= timedelta(hours=48)
    step, trunc = (timedelta(hours=1), TruncHour) if hourly else (timedelta(days=1), TruncDay)
    start = min(sent, span["first"]).astimezone(tz).replace(minute=0, second=0, microsecond=0)
    if not hourly:
        start = start.replace(hour=0)
    buckets = int((span["last"].astimezone(tz) - start) / step) + 1
    counts = {answer: [0] * buckets for answer in ANSWER_LABELS}
    for at, answer, n in answered.annotate(bucket=trunc("answered_at", tzinfo=tz)).values_list(
            "bucket", "answer").annotate(n=Count("id")).values_list("bucket", "answer", "n"):
        if answer in counts:
            counts[answer][min(buckets - 1, max(0, int((at.astimezone(tz) - start) / step)))] += n
    labels = tuple((start + i * step).strftime("%d/%m %Hh" if hourly else "%d/%m") for i in range(buckets))
    series = tuple(Series(ANSWER_LABELS[answer], tuple(itertools.accumulate(counts[answer])))
                   for answer in ("en_securite", "besoin_aide"))
    return Chart(f"reponses-{incident.pk}", title, labels, series, unit="réponses cumulées",
                 label_header="Heure" if hourly else "Jour")


def answer_rows(incident: Incident) -> QuerySet[IncidentRecipient]:
    """Who answered: those who need help and are not yet handled first, then the latest answers."""
    help_first = Case(When(answer="besoin_aide", then=Value(0)), default=Value(1))
    return (IncidentRecipient.objects.filter(incident=incident).exclude(answer="")
            .order_by(help_first, F("handled_at").asc(nulls_first=True), F("answered_at").desc(nulls_last=True), "pk"))


def describe_answers(access: Access, incident: Incident, answers: list[IncidentRecipient],
                     action: str = "view") -> list[dict[str, Any]]:
    """The answers an agent sees (a page of them, or an export): name, answer, the phone number to call them back
    and the channel of the answer — a read of their identity and contacts, logged."""
    ids = [a.person_id for a in answers]
    if not ids:
        return []
    access.require(Section.CONTACTS)
    names = registry.names_for(access, ids, action)
    people = registry.reachable(ids, MESSAGE_PURPOSE)
    audit.record(access.actor, action, purpose=access.purpose, person_ids=ids, sections=[Section.CONTACTS.value],
                 detail={"list": True, "incident": incident.pk})
    rows = []
    for a in answers:
        reach = people.get(a.person_id)
        rows.append({"person_id": a.person_id, "answer": a.answer, "answered_at": a.answered_at, "note": a.note,
                     "handled_by": a.handled_by, "handled_at": a.handled_at, "nom": names.get(a.person_id, ""),
                     "telephone": reach.addresses.get("sms", "") if reach else "",
                     "reponse": ANSWER_LABELS.get(a.answer, a.answer),
                     "canal": ANSWER_CHANNELS.get(a.answer_channel, a.answer_channel)})
    return rows


ANSWER_LABELS = {"besoin_aide": "besoin d'aide", "en_securite": "en sécurité"}
ANSWER_CHANNELS = {**messaging.CHANNEL_LABELS, "lien": "page de réponse", "agent": "par un agent"}


def mark_handled(actor: Actor, incident_id: int, person_id: int) -> None:
    IncidentRecipient.objects.filter(incident_id=incident_id, person_id=person_id).update(
        handled_by=actor.label, handled_at=clock.now())


def stats(incident: Incident) -> dict[str, Any]:
    """Per channel, the messages by status; the recipients; the answers."""
    by_channel = messaging.counts_by_channel_and_status(trigger(incident.pk))
    answered = dict(IncidentRecipient.objects.filter(incident=incident).values_list("answer").annotate(
        n=Count("id")).values_list("answer", "n"))
    return {"recipients": sum(answered.values()), "channels": by_channel,
            "delivery": messaging.labelled_counts(by_channel),
            "answers": {"en_securite": answered.get("en_securite", 0), "besoin_aide": answered.get("besoin_aide", 0)}}


def send_scheduled(now: datetime | None = None) -> dict[str, int]:
    """Scheduled alerts (road works imported from open data) whose time has come: sent as an agent would."""
    from proactif.accounts.domain import system_actor

    now = now or clock.now()
    sent = waiting = 0
    for incident_id in Incident.objects.filter(status="brouillon", send_at__lte=now).exclude(pending={}).values_list(
            "id", flat=True):
        incident = Incident.objects.get(pk=incident_id)
        result = send(system_actor("alertes programmées"), incident_id, incident.pending["kind"],
                      incident.pending["texts"])
        sent += not result.get("approval_required")
        waiting += bool(result.get("approval_required"))
    return {"sent": sent, "waiting_approval": waiting}


def import_roadworks(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    from proactif.alerts import _roadworks as roadworks

    return roadworks.import_features(actor, data).summary()
