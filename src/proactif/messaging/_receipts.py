"""Delivery receipts and inbound messages from providers, each signed with the provider's secret over a
timestamp (a receipt older than PROACTIF_WEBHOOK_MAX_AGE_SECONDS, or from the future, is refused: a captured
webhook cannot be replayed later).

A receipt turns a message into delivered (or failed, which falls back to the next channel) only when the
provider it comes from sent that message on the channel it serves: one provider's secret cannot touch an
e-mail, a letter or another provider's SMS. An inbound "STOP" (anywhere in the text, whatever its case,
spacing or invisible characters; ARRET, STOP SMS…) opposes further messages on that channel at once, for the
sender — a number in E.164 as the registry keeps it, a Messenger id — and every person who has it; any other
text is kept as a reply, attached to the person and to the journey of the last message they received, and
published as an event. SMS come here through the API; WhatsApp and Messenger through `_meta_webhooks`."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from proactif.kernel import clock, events
from proactif.kernel.logging import get_logger
from proactif.messaging import _engagement as engagement
from proactif.messaging import _outbox as outbox
from proactif.messaging import _providers as providers
from proactif.messaging import domain
from proactif.messaging.models import DeliveryReceipt, InboundMessage, OutboxMessage
from proactif.registry import services as registry

log = get_logger(__name__)

FUTURE_SKEW_SECONDS = 5  # a provider's clock a few seconds ahead of ours is not a forgery
DELIVERED = ("delivered", "read")  # read implies delivered (WhatsApp then sends no "delivered")
FAILED = ("failed", "undelivered", "rejected")


class BadSignature(Exception):
    pass


def signature(secret: str, body: bytes, timestamp: str) -> str:
    """What a provider sends in `X-Proactif-Signature`: hex HMAC-SHA256 of `<timestamp>.<body>`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, "sha256").hexdigest()


def verify(provider: str, body: bytes, signed: str, timestamp: str, now: float | None = None) -> dict[str, Any]:
    """The checked payload of an SMS provider's call: its signature over `timestamp` and the body, the timestamp
    (Unix seconds) within PROACTIF_WEBHOOK_MAX_AGE_SECONDS of `now` (real time: a simulated clock moves days)."""
    secret = providers.sms_secret(provider)
    if not secret:
        raise BadSignature(f"fournisseur inconnu : {provider}")
    if not re.fullmatch(r"[0-9]{1,12}", timestamp or ""):
        raise BadSignature("horodatage manquant ou illisible (en-tête X-Proactif-Timestamp, secondes Unix)")
    if not hmac.compare_digest(signature(secret, body, timestamp).encode(), (signed or "").encode()):
        raise BadSignature("signature invalide")
    age = (clock.real_now().timestamp() if now is None else now) - int(timestamp)
    if age > settings.WEBHOOK_MAX_AGE_SECONDS:
        raise BadSignature(f"horodatage trop ancien ({int(age)} s, {settings.WEBHOOK_MAX_AGE_SECONDS} s au plus) : "
                           "un appel rejoué est refusé")
    if age < -FUTURE_SKEW_SECONDS:
        raise BadSignature(f"horodatage dans le futur ({int(-age)} s d'avance)")
    return json_object(body)


def json_object(body: bytes) -> dict[str, Any]:
    """A signed body must be one JSON object: anything else (an array, a number, nesting past the parser's
    depth) is refused with a 400."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("corps illisible : un objet JSON est attendu") from None
    if not isinstance(payload, dict):
        raise ValueError("corps illisible : un objet JSON est attendu")
    return payload


def sent_message(provider: str, channel: str, reference: str = "", provider_id: str = "",
                 recipient: str = "") -> OutboxMessage | None:
    """The message a receipt names (by idempotency key or by the id the provider gave), provided this provider
    sent it on this channel (and to `recipient`, when the receipt names one): a receipt naming anything else
    changes nothing."""
    message = OutboxMessage.objects.filter(idempotency_key=reference).first() if reference else None
    if message is None and provider_id:
        message = OutboxMessage.objects.filter(provider=provider, channel=channel,
                                               provider_message_id=provider_id).first()
    if message is None:
        return None
    if recipient and message.recipient and message.recipient.lstrip("+") != recipient.lstrip("+"):
        return None
    if message.status == "sending":
        # The receipt overtook the worker recording the send, and the attempt's provider (on a first attempt,
        # the channel too) is written with it: the channel is what can be checked
        if message.channel == channel or (not message.channel and (
                channel in message.policy or "preferred" in message.policy)):
            return message
        return None
    if message.provider != provider or message.channel != channel:
        return None
    if provider_id and message.provider_message_id and message.provider_message_id != provider_id:
        return None
    return message


def apply_receipt(provider: str, payload: dict[str, Any], channel: str = "sms", recipient: str = "") -> str:
    """Returns what happened: delivered | failed | unknown (no message of this provider on this channel) |
    already | ignored (an intermediate status: sent, accepted…)."""
    reference, provider_id = str(payload.get("reference") or ""), str(payload.get("id") or "")
    status = str(payload.get("status") or "")
    message = sent_message(provider, channel, reference, provider_id, recipient)
    if message is None:
        log.info("receipt matching no message of its provider", provider=provider, channel=channel)
        return "unknown"
    now = clock.now()
    with transaction.atomic():
        DeliveryReceipt.objects.create(message=message, provider=provider, status=status[:20],
                                       detail=str(payload.get("detail", ""))[:300], received_at=now)
        if status in DELIVERED:
            # The receipt may overtake the worker recording the send: keep the time now, the worker turns
            # the status to delivered when it records the send.
            updated = OutboxMessage.objects.filter(pk=message.pk, status__in=("sending", "sent"),
                                                   delivered_at__isnull=True).update(delivered_at=now, updated_at=now)
            OutboxMessage.objects.filter(pk=message.pk, status="sent").update(status="delivered")
            return "delivered" if updated else "already"
        if status in FAILED:
            updated = OutboxMessage.objects.filter(pk=message.pk, status="sent").update(
                status="failed", failure="permanent", error=f"non distribué ({provider})", updated_at=now)
            if updated:
                outbox.create_fallbacks([(message, message.channel)])
            return "failed" if updated else "already"
    return "ignored"


def apply_signed_receipt(provider: str, body: bytes, signed: str, timestamp: str) -> str:
    return apply_receipt(provider, verify(provider, body, signed, timestamp))


def apply_inbound(provider: str, payload: dict[str, Any]) -> str:
    """An SMS from a resident. Gateways give the sender as `+336…`, `336…` or `06…`: it is matched in E.164,
    as the registry keeps numbers (an alphanumeric sender is kept as it came)."""
    raw = str(payload.get("from") or "").strip()
    return record_inbound("sms", provider, domain.phone_e164(raw) or raw, str(payload.get("text") or ""),
                          provider_id=str(payload.get("id") or ""))


def record_inbound(channel: str, provider: str, sender: str, text: str, provider_id: str = "") -> str:
    """A resident's message on `channel` from `sender` (E.164 number, Messenger id): stop, start or reply. The same
    message delivered again (a provider's retry, a replayed webhook) is recognised by its id: "already"."""
    provider_id = provider_id.strip()[:200]
    if provider_id and InboundMessage.objects.filter(provider=provider, provider_message_id=provider_id).exists():
        return "already"
    kind = domain.inbound_kind(text)
    now = clock.now()
    person_ids = registry.persons_with_contact(sender)
    sent = OutboxMessage.objects.filter(recipient=sender, channel=channel).exclude(sent_at=None)
    if person_ids:
        sent = sent.filter(person_id__in=person_ids)  # through the people's index, not every message
    last = sent.order_by("-sent_at").first()
    person_id = last.person_id if last else (person_ids[0] if person_ids else None)
    with transaction.atomic():
        try:
            with transaction.atomic():
                InboundMessage.objects.create(channel=channel, provider=provider, sender=sender[:320],
                                              body=text[:2000], kind=kind, person_id=person_id, message=last,
                                              instance_id=last.instance_id if last else None, received_at=now,
                                              provider_message_id=provider_id)
        except IntegrityError:  # the same message, recorded by a concurrent delivery of the webhook
            return "already"
        if kind == "stop":
            # Pending messages are checked against the opposition when they go: none leaves on this channel.
            registry.record_citizen_opt_out(sender, channel, source=f"{channel}_stop")
        elif person_id is not None:
            engagement.record(person_id, "reply", channel, now, last.idempotency_key if last else "",
                              last.instance_id if last else None)
            events.publish("reply_received", person_id=person_id, instance_id=last.instance_id if last else None,
                           text=text)
    log.info("inbound message", channel=channel, kind=kind, provider=provider)
    return kind


def apply_signed_inbound(provider: str, body: bytes, signed: str, timestamp: str) -> str:
    return apply_inbound(provider, verify(provider, body, signed, timestamp))

