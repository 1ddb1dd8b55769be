"""Webhooks of Meta's WhatsApp Cloud API and Messenger Platform, fed to the receipts and inbound handling SMS
goes through (`_receipts`).

- Subscription: Meta calls `GET …?hub.mode=subscribe&hub.verify_token=<ours>&hub.challenge=<n>`; the challenge
  is echoed when the token is the one configured (PROACTIF_WHATSAPP_VERIFY_TOKEN, PROACTIF_MESSENGER_VERIFY_TOKEN).
- Events: `POST`, signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`
  (PROACTIF_WHATSAPP_APP_SECRET, PROACTIF_MESSENGER_APP_SECRET); without a secret configured every call is
  refused.
  - WhatsApp: `{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field": "messages", "value":
    {"messages": [{"from", "id", "type": "text", "text": {"body"}}], "statuses": [{"id", "status", "recipient_id",
    "biz_opaque_callback_data", "errors"}]}}]}]}`;
  - Messenger: `{"object": "page", "entry": [{"id", "time", "messaging": [{"sender": {"id"}, "recipient": {"id"},
    "timestamp", "message": {"mid", "text"} | "delivery": {"mids", "watermark"} | "read": {"watermark"}}]}]}`.

A text is a reply (`reply_received`) or a STOP, which opposes that channel for that number or Messenger id. A
status names the message by the id the outbox stored when sending it (`wamid.…`, `m_…`; for WhatsApp also the
idempotency key echoed in `biz_opaque_callback_data`), and changes it only if this channel's provider sent it.
A Messenger watermark means every message sent to that person before it was delivered (or read).
"""

from __future__ import annotations

import hmac
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from proactif.messaging import _receipts as receipts
from proactif.messaging import domain
from proactif.messaging._channels.meta import MessengerClient, WhatsAppClient
from proactif.messaging.models import OutboxMessage
from proactif.registry import services as registry

PROVIDERS = {"whatsapp": WhatsAppClient.name, "messenger": MessengerClient.name}
OBJECTS = {"whatsapp": "whatsapp_business_account", "messenger": "page"}
CHALLENGE = re.compile(r"[0-9A-Za-z_.-]{1,200}")


class BadSignature(Exception):
    pass


class Refused(Exception):
    pass


def _setting(channel: str, name: str) -> str:
    return str(getattr(settings, f"{channel.upper()}_{name}") or "")


def handshake(channel: str, mode: str, token: str, challenge: str) -> str:
    """The challenge to echo when Meta subscribes the webhook with our verify token; Refused otherwise."""
    if mode != "subscribe" or not CHALLENGE.fullmatch(challenge or ""):
        raise ValueError("hub.mode=subscribe et hub.challenge attendus")
    expected = _setting(channel, "VERIFY_TOKEN")
    if not expected:
        raise Refused(f"aucun jeton de vérification configuré (PROACTIF_{channel.upper()}_VERIFY_TOKEN)")
    if not hmac.compare_digest(expected.encode(), (token or "").encode()):
        raise Refused("jeton de vérification incorrect")
    return challenge


def verify(channel: str, body: bytes, header: str) -> dict[str, Any]:
    """The payload of a call signed with the app secret; BadSignature (401), ValueError for a body that is not
    one JSON object (400)."""
    secret = _setting(channel, "APP_SECRET")
    if not secret:
        raise BadSignature(f"webhook non configuré : PROACTIF_{channel.upper()}_APP_SECRET manquant")
    expected = "sha256=" + hmac.new(secret.encode(), body, "sha256").hexdigest()
    if not hmac.compare_digest(expected.encode(), (header or "").strip().lower().encode()):
        raise BadSignature("signature invalide (en-tête X-Hub-Signature-256)")
    return receipts.json_object(body)


def _objects(container: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = container.get(name) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{name} : une liste d'objets est attendue")
    return items


def _entries(payload: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    if payload.get("object") != OBJECTS[channel]:
        raise ValueError(f"object : « {OBJECTS[channel]} » attendu")
    if "entry" not in payload:
        raise ValueError("entry manquant : la liste des événements")
    return _objects(payload, "entry")


# --- WhatsApp ---------------------------------------------------------------------------------------------------
def _whatsapp_text(message: dict[str, Any]) -> str | None:
    """The words of a message: a text, a quick-reply button (the marketing opt-out « Stop promotions » comes
    so), an interactive reply; None for media, locations, reactions…"""
    kind = message.get("type")
    part = message.get(kind) if isinstance(kind, str) else None
    if not isinstance(part, dict):
        return None
    if kind == "text":
        text = part.get("body")
    elif kind == "button":
        text = part.get("text")
    elif kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply") or {}
        text = reply.get("title") if isinstance(reply, dict) else None
    else:
        return None
    return text if isinstance(text, str) else None


def _whatsapp_error(status: dict[str, Any]) -> str:
    errors = status.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return f"{errors[0].get('code', '')} {errors[0].get('title', '')}".strip()
    return ""


@transaction.atomic  # a malformed part (a 400, which Meta sends again) leaves nothing half-applied
def apply_whatsapp(payload: dict[str, Any]) -> dict[str, int]:
    """Apply a WhatsApp webhook; returns how many of each outcome (reply, stop, delivered, unknown, ignored…)."""
    provider, done = PROVIDERS["whatsapp"], Counter[str]()
    for entry in _entries(payload, "whatsapp"):
        for change in _objects(entry, "changes"):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                done["ignored"] += 1  # account, template and quality updates
                continue
            for message in _objects(value, "messages"):
                text, wa_id = _whatsapp_text(message), str(message.get("from") or "")
                if text is None or not wa_id.isdigit():
                    done["ignored"] += 1
                    continue
                sender = domain.phone_e164("+" + wa_id) or "+" + wa_id  # wa_id: the number with its country code
                done[receipts.record_inbound("whatsapp", provider, sender, text,
                                             provider_id=str(message.get("id") or ""))] += 1
            for status in _objects(value, "statuses"):
                receipt = {"id": status.get("id"), "reference": status.get("biz_opaque_callback_data"),
                           "status": status.get("status"), "detail": _whatsapp_error(status)}
                done[receipts.apply_receipt(provider, receipt, "whatsapp",
                                            recipient=str(status.get("recipient_id") or ""))] += 1
    return dict(done)


# --- Messenger --------------------------------------------------------------------------------------------------
def _delivered_before(provider: str, psid: str, watermark: Any) -> Counter[str]:
    """Every message sent to this person before `watermark` (milliseconds) was delivered."""
    done = Counter[str]()
    if isinstance(watermark, bool) or not isinstance(watermark, (int, float)):
        return done
    try:
        before = datetime.fromtimestamp(watermark / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return done
    rows = OutboxMessage.objects.filter(provider=provider, channel="messenger", recipient=psid, status="sent",
                                        sent_at__lte=before)
    person_ids = registry.persons_with_contact(psid)
    if person_ids:
        rows = rows.filter(person_id__in=person_ids)  # through the people's index, not every message
    for key in rows.values_list("idempotency_key", flat=True)[:200]:
        done[receipts.apply_receipt(provider, {"reference": key, "status": "delivered"}, "messenger")] += 1
    return done


@transaction.atomic
def apply_messenger(payload: dict[str, Any]) -> dict[str, int]:
    """Apply a Messenger webhook; returns how many of each outcome."""
    provider, done = PROVIDERS["messenger"], Counter[str]()
    for entry in _entries(payload, "messenger"):
        for event in _objects(entry, "messaging"):
            sender = event.get("sender")
            psid = str(sender.get("id") or "") if isinstance(sender, dict) else ""
            message, delivery, read = event.get("message"), event.get("delivery"), event.get("read")
            if not psid:
                done["ignored"] += 1
            elif isinstance(message, dict):
                text = message.get("text")
                if message.get("is_echo") or not isinstance(text, str):  # our own message echoed, or a sticker
                    done["ignored"] += 1
                else:
                    done[receipts.record_inbound("messenger", provider, psid, text,
                                                 provider_id=str(message.get("mid") or ""))] += 1
            elif isinstance(delivery, dict):
                mids = delivery.get("mids") or []
                for mid in mids if isinstance(mids, list) else []:
                    done[receipts.apply_receipt(provider, {"id": str(mid), "status": "delivered"}, "messenger",
                                                recipient=psid)] += 1
                done.update(_delivered_before(provider, psid, delivery.get("watermark")))
            elif isinstance(read, dict):
                done.update(_delivered_before(provider, psid, read.get("watermark")))
            else:
                done["ignored"] += 1  # postbacks, reactions, opt-ins…
    return dict(done)
