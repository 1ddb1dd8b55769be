"""Delivery receipts and inbound messages from providers, each signed with the provider's secret.

A receipt turns a sent message into delivered (or failed, which falls back to the next channel). An
inbound SMS "STOP" (ARRET, STOP SMS…) opposes further SMS at once, for the number and every person who
has it; any other text is kept as a reply, attached to the person and to the journey of the last message
they received, and published as an event."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from django.db import transaction

from proactif.kernel import clock, events
from proactif.kernel.logging import get_logger
from proactif.messaging import _engagement as engagement
from proactif.messaging import _outbox as outbox
from proactif.messaging import _providers as providers
from proactif.messaging.models import DeliveryReceipt, InboundMessage, OutboxMessage
from proactif.registry import services as registry

log = get_logger(__name__)

STOP_WORDS = re.compile(r"^\s*(stop|arr[eê]t|arr[eê]ter|desinscription|désinscription)\b", re.IGNORECASE)
START_WORDS = re.compile(r"^\s*(start|reprise)\b", re.IGNORECASE)


class BadSignature(Exception):
    pass


def verify(provider: str, body: bytes, signature: str) -> dict[str, Any]:
    secret = providers.sms_secret(provider)
    if not secret:
        raise BadSignature(f"fournisseur inconnu : {provider}")
    expected = hmac.new(secret.encode(), body, "sha256").hexdigest()
    if not hmac.compare_digest(expected, signature or ""):
        raise BadSignature("signature invalide")
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValueError("corps illisible : un objet JSON est attendu") from None
    if not isinstance(payload, dict):
        raise ValueError("corps illisible : un objet JSON est attendu")
    return payload


def apply_receipt(provider: str, payload: dict[str, Any]) -> str:
    """Returns what happened: delivered | failed | unknown | already."""
    reference, provider_id = payload.get("reference", ""), payload.get("id", "")
    status = payload.get("status", "")
    message = (OutboxMessage.objects.filter(idempotency_key=reference).first() if reference else None) or \
        OutboxMessage.objects.filter(provider=provider, provider_message_id=provider_id).first()
    if message is None:
        return "unknown"
    now = clock.now()
    with transaction.atomic():
        DeliveryReceipt.objects.create(message=message, provider=provider, status=status[:20],
                                       detail=str(payload.get("detail", ""))[:300], received_at=now)
        if status == "delivered":
            # The receipt may overtake the worker recording the send: keep the time now, the worker turns
            # the status to delivered when it records the send.
            updated = OutboxMessage.objects.filter(pk=message.pk, status__in=("sending", "sent"),
                                                   delivered_at__isnull=True).update(delivered_at=now, updated_at=now)
            OutboxMessage.objects.filter(pk=message.pk, status="sent").update(status="delivered")
            return "delivered" if updated else "already"
        if status in ("failed", "undelivered", "rejected"):
            updated = OutboxMessage.objects.filter(pk=message.pk, status="sent").update(
                status="failed", failure="permanent", error=f"non distribué ({provider})", updated_at=now)
            if updated:
                outbox.create_fallbacks([(message, message.channel)])
            return "failed" if updated else "already"
    return "ignored"


def apply_signed_receipt(provider: str, body: bytes, signature: str) -> str:
    return apply_receipt(provider, verify(provider, body, signature))


def apply_inbound(provider: str, payload: dict[str, Any]) -> str:
    sender, text = payload.get("from", ""), payload.get("text", "")
    now = clock.now()
    if STOP_WORDS.match(text):
        kind = "stop"
    elif START_WORDS.match(text):
        kind = "start"
    else:
        kind = "reply"
    last = OutboxMessage.objects.filter(recipient=sender, channel="sms").exclude(sent_at=None).order_by(
        "-sent_at").first()
    person_ids = registry.persons_with_contact(sender)
    person_id = last.person_id if last else (person_ids[0] if person_ids else None)
    with transaction.atomic():
        InboundMessage.objects.create(channel="sms", provider=provider, sender=sender, body=text[:2000], kind=kind,
                                      person_id=person_id, message=last,
                                      instance_id=last.instance_id if last else None, received_at=now)
        if kind == "stop":
            # Pending messages are checked against the opposition when they go: none leaves by SMS.
            registry.record_citizen_opt_out(sender, "sms", source="sms_stop")
        elif person_id is not None:
            engagement.record(person_id, "reply", "sms", now, last.idempotency_key if last else "",
                              last.instance_id if last else None)
            events.publish("reply_received", person_id=person_id, instance_id=last.instance_id if last else None,
                           text=text)
    log.info("inbound sms", kind=kind, provider=provider)
    return kind


def apply_signed_inbound(provider: str, body: bytes, signature: str) -> str:
    return apply_inbound(provider, verify(provider, body, signature))

