"""Who is on call, and the escalation of a critical device alert (issue 18): the referent, then the agent on call
(or, with no one on call, the desk's shared number), then the person to warn, then a task « appeler le 15 » —
each step timed, on the urgent lane (quiet hours and frequency caps do not apply), run by the journey engine
(`journeys/escalade-alerte.yaml`); acknowledging or resolving the alert stops it — on the desk, or by the
referent with the signed link their message carries (`_referent`). Warnings stay on the desk: only
critical alerts page people (alert fatigue)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction

from proactif.accounts.domain import Actor
from proactif.audit import services as audit
from proactif.journeys import services as journeys
from proactif.kernel import clock, events
from proactif.kernel.logging import get_logger
from proactif.registry import services as registry
from proactif.watch import _referent as referent_link
from proactif.watch import domain
from proactif.watch.models import Alert, Contact, OnCallShift, Registration

JOURNEY = "escalade-alerte"
log = get_logger(__name__)


class RotaError(ValueError):
    pass


def on_call(now: datetime | None = None) -> OnCallShift | None:
    now = now or clock.now()
    return OnCallShift.objects.filter(starts_at__lte=now, ends_at__gt=now).order_by("-starts_at").first()


def next_shifts(limit: int = 5) -> list[OnCallShift]:
    return list(OnCallShift.objects.filter(ends_at__gt=clock.now()).order_by("starts_at")[:limit])


def add_shift(actor: Actor, agent: str, phone: str, starts_at: datetime, ends_at: datetime,
              handover: str = "") -> OnCallShift:
    """A shift of the rota (audited: the access log records who changed it, under prévention santé)."""
    from proactif.watch._register import phone as e164

    if ends_at <= starts_at:
        raise RotaError("la fin de l'astreinte doit suivre son début")
    if not agent.strip():
        raise RotaError("indiquez l'agent d'astreinte")
    try:
        number = e164(phone)
    except ValueError as exc:
        raise RotaError(str(exc)) from None
    if not number:
        raise RotaError("indiquez le téléphone de l'astreinte")
    with transaction.atomic():
        shift = OnCallShift.objects.create(agent=agent.strip()[:254], phone=number, starts_at=starts_at,
                                           ends_at=ends_at, handover=handover.strip()[:500],
                                           created_by=actor.label, created_at=clock.now())
        audit.record(actor, "change", purpose=domain.PURPOSE, detail={"astreinte": shift.pk})
    return shift


def escalate(alert: Alert) -> bool:
    """Start the escalation of a critical alert (once per alert)."""
    if alert.severity != "critical" or alert.escalation_id:
        return False
    try:
        instance = journeys.start(JOURNEY, alert.person_id, subject_id=alert.pk, context={"alerte_id": alert.pk})
    except ObjectDoesNotExist:  # the shipped journeys are not installed: the alert stays on the desk, the reading
        log.error("escalation journey missing", journey=JOURNEY)  # is stored and acknowledged all the same
        return False
    if instance is None:  # the person's escalation of another alert is running: it covers this one too
        return False
    Alert.objects.filter(pk=alert.pk).update(escalation_id=instance.pk)
    return True


def stopped(alert: Alert, event: str) -> None:
    """The alert was acknowledged or resolved: its escalation hears it and ends."""
    if alert.escalation_id:
        events.publish(event, person_id=alert.person_id, instance_id=alert.escalation_id)


def _alert_of(instances: list[Any]) -> dict[int, Alert]:
    ids = {i.pk: (i.context or {}).get("alerte_id") for i in instances}
    alerts = {a.pk: a for a in Alert.objects.filter(pk__in=[v for v in ids.values() if v])}
    return {pk: alerts[a] for pk, a in ids.items() if a in alerts}


def _contacts(instances: list[Any], role: str) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
    alerts = _alert_of(instances)
    synthetic = registry.synthetic_person_ids([a.person_id for a in alerts.values()])
    by_person: dict[int, list[Contact]] = {}
    for contact in Contact.objects.filter(role=role, registration__person_id__in=[a.person_id for a in
                                                                                 alerts.values()],
                                          registration__status="inscrite").select_related("registration"):
        by_person.setdefault(contact.registration.person_id, []).append(contact)
    out: dict[int, list[tuple[str, str, dict[str, Any]]]] = {}
    for pk, alert in alerts.items():
        found = []
        for contact in by_person.get(alert.person_id, []):
            context: dict[str, Any] = {"alerte_id": alert.pk, "synthetic": alert.person_id in synthetic}
            if role == "referent":  # the referent's own link, to acknowledge this alert and nothing else
                context[referent_link.CONTEXT_KEY] = referent_link.context_value(alert.pk, contact.pk)
            channel = domain.contact_channel(contact.telephone, contact.email)
            if channel is not None:
                found.append((*channel, context))
        out[pk] = found
    return out


def referents(instances: list[Any]) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
    return _contacts(instances, "referent")


def contacts_urgence(instances: list[Any]) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
    return _contacts(instances, "urgence")


def astreinte(instances: list[Any]) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
    """The agent on call now, else the desk's shared number (PROACTIF_WATCH_DESK_PHONE)."""
    shift = on_call()
    number = shift.phone if shift else settings.WATCH_DESK_PHONE
    alerts = _alert_of(instances)
    synthetic = registry.synthetic_person_ids([a.person_id for a in alerts.values()])
    return {pk: [("sms", number, {"alerte_id": alert.pk, "synthetic": alert.person_id in synthetic})] if number
            else [] for pk, alert in alerts.items()}


def message_views(alert_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Template data `alerte_veille`: the person's name and the finding (no value beyond what the desk shows)."""
    rows = {a.pk: a for a in Alert.objects.filter(pk__in=alert_ids)}
    people = registry.residents([a.person_id for a in rows.values()])
    registered = dict(Registration.objects.filter(person_id__in=[a.person_id for a in rows.values()]).values_list(
        "person_id", "telephone"))
    out = {}
    for pk, alert in rows.items():
        resident = people.get(alert.person_id)
        out[pk] = {"personne": resident.display_name if resident else "", "constat": alert.message,
                   "adresse": resident.address if resident else "",
                   "telephone": registered.get(alert.person_id) or (resident.mobile if resident else "")}
    return out
