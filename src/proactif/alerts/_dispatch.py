"""How an incident's message reaches its recipients, in two durable steps.

1. **Freeze** (one transaction, with the incident's new status): the message row and the recipients — at the
   alert, the residents of the whole target; later, the residents of areas added since — written with COPY.
   Nothing else: a 100,000-resident alert commits in about a second.
2. **Fan out** (by chunks of 5,000 recipients, each chunk its own transaction): a citizen link and an outbox
   message per recipient on the urgent lane, keyed `alerte:INCIDENT:SEQ:PERSON`, queued as soon as its chunk
   commits — the first messages leave while the last are being written. A chunk re-done after a crash writes
   only the keys still missing. The message row keeps the progress; `resume_fan_outs` (every minute) finishes
   a fan-out whose worker died.

So kill -9 at any point loses no recipient (they are frozen with the message) and messages none twice (one key
per recipient and message, unique in the outbox; the outbox sends each once).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from proactif.accounts.domain import Actor
from proactif.alerts.models import Incident, IncidentMessage, IncidentRecipient
from proactif.geo import services as geo
from proactif.kernel import bulkload, clock
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging
from proactif.registry import services as registry

log = get_logger(__name__)

FANOUT_CHUNK = 5_000
STALLED_AFTER = timedelta(minutes=2)  # a fan-out without progress for this long is taken over
MESSAGE_PURPOSE = "alertes"
SERVICE = "police_municipale"
LINK_PURPOSE = "alerts.reponse"
# Preferred channel, then the fast ones; by post only for what is announced days ahead (road works, events)
POLICY = ["preferred", "sms", "whatsapp", "messenger", "push", "email"]


def policy(urgency: str) -> list[str]:
    return [*POLICY, "letter"] if urgency == "Future" else [*POLICY, "!letter"]


def trigger(incident_id: int) -> str:
    return f"alerte:{incident_id}"


def key(incident_id: int, seq: int, person_id: int | str) -> str:
    return f"alerte:{incident_id}:{seq}:{person_id}"


def target_of(incident: Incident) -> geo.Target:
    return geo.Target.of(incident.areas, incident.voie_ids, incident.quartier_ids, incident.address_ids)


def exercise_contacts() -> list[int]:
    """The people an exercise reaches: those holding one of the configured test contacts."""
    found: set[int] = set()
    for value in settings.ALERT_TEST_CONTACTS:
        found.update(registry.persons_with_contact(value))
    return sorted(found)


def residents_now(incident: Incident) -> list[int]:
    """Who the alert reaches: the residents of the whole target now (the test contacts for an exercise)."""
    if incident.exercise:
        return exercise_contacts()
    return geo.residents(target_of(incident))


def residents_added(incident: Incident) -> list[int]:
    """Who joins at a later message: the residents of the areas added since the last one."""
    if incident.exercise or not incident.added_targets:
        return []
    found: set[int] = set()
    for added in incident.added_targets:
        found.update(geo.residents(geo.Target.of(added["areas"], added["voie_ids"], added["quartier_ids"])))
    return sorted(found)


def freeze(actor: Actor, incident: Incident, kind: str, texts: dict[str, str], status: str,
           residents: list[int] | None = None) -> dict[str, Any]:
    """Step 1, inside the caller's transaction holding the incident: the message and its recipients."""
    now = clock.now()
    seq = (incident.messages.order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    have = set(IncidentRecipient.objects.filter(incident=incident).values_list("person_id", flat=True))
    joining = residents if residents is not None else residents_added(incident)
    added = [p for p in joining if p not in have]
    if added:
        bulkload.copy_records(IncidentRecipient, [{"incident_id": incident.pk, "person_id": p, "from_seq": seq,
                                                   "answer": "", "answer_channel": "", "note": "",
                                                   "handled_by": ""} for p in added])
    total = len(have) + len(added)
    message = IncidentMessage.objects.create(incident=incident, seq=seq, kind=kind, texts=texts, sent_by=actor.label,
                                             sent_at=now, recipients=total, areas=incident.areas,
                                             fanout_progress_at=now)
    incident.status, incident.updated_at, incident.pending, incident.added_targets = status, now, {}, []
    incident.save(update_fields=["status", "approved_by", "pending", "added_targets", "updated_at"])
    log.info("incident message frozen", incident=incident.pk, seq=seq, kind=kind, recipients=total,
             added=len(added))
    return {"incident": incident.pk, "message_id": message.pk, "seq": seq, "kind": kind, "status": status,
            "recipients": total, "added": len(added), "exercise": incident.exercise}


def fan_out(message_id: int, chunk: int = FANOUT_CHUNK) -> int:
    """Step 2: links and outbox messages for the recipients still without one, chunk by chunk, each chunk
    queued when it commits. Returns how many messages it wrote."""
    from proactif.alerts import domain

    message = IncidentMessage.objects.select_related("incident").get(pk=message_id)
    if message.fanned_out_at is not None:
        return 0
    incident = message.incident
    people = list(IncidentRecipient.objects.filter(incident_id=incident.pk, from_seq__lte=message.seq).order_by(
        "person_id").values_list("person_id", flat=True))
    spec = messaging.Broadcast(
        key_prefix=key(incident.pk, message.seq, ""), template_key=f"alerte.{incident.type_code}",
        purpose=MESSAGE_PURPOSE, service=SERVICE, lane="urgent",
        policy=policy(domain.TYPES[incident.type_code].urgency),
        trigger=trigger(incident.pk), context={"alerte_message_id": message.pk}, link_purpose=LINK_PURPOSE,
        link_payload={"incident": incident.pk}, link_days=30)
    written = 0
    for start in range(0, len(people), chunk):
        part = people[start:start + chunk]
        with transaction.atomic():
            written += len(messaging.send_to_many(spec, part))  # keys already written are skipped
            IncidentMessage.objects.filter(pk=message.pk).update(fanout_done=start + len(part),
                                                                 fanout_progress_at=clock.now())
    IncidentMessage.objects.filter(pk=message.pk).update(fanned_out_at=clock.now())
    log.info("incident message fanned out", incident=incident.pk, seq=message.seq, written=written,
             recipients=len(people))
    return written


def resume_fan_outs(now: datetime | None = None) -> dict[str, int]:
    """Finish the fan-outs whose worker died (no progress for STALLED_AFTER)."""
    now = now or clock.now()
    stalled = list(IncidentMessage.objects.filter(fanned_out_at__isnull=True,
                                                  fanout_progress_at__lt=now - STALLED_AFTER).values_list(
        "id", flat=True))
    written = 0
    for message_id in stalled:
        IncidentMessage.objects.filter(pk=message_id).update(fanout_progress_at=now)  # taken over
        written += fan_out(message_id)
    return {"resumed": len(stalled), "written": written}
