"""Bounces and complaints about the e-mails the outbox sent, from a provider's signed webhook or from the SMTP
sink, each a report as mail servers write them:

- a DSN (RFC 3464: `multipart/report; report-type=delivery-status`): per recipient, `Action: failed` with a
  `Status` 5.x.x is a hard bounce; a 4.x.x status or `Action: delayed` a soft one; `delivered`, `relayed`,
  `expanded` say nothing;
- an ARF report (RFC 5965: `report-type=feedback-report`), `Feedback-Type: abuse`: a complaint.

The original message is found by the headers the report returns (its `text/rfc822-headers` or `message/rfc822`
part): `X-Proactif-Key`, else its `Message-ID`. A report naming no message of the outbox, or another address than
the message's, changes nothing. Per address, after 1 hard bounce, 3 soft ones (three messages) or 1 complaint
the address is stopped: an opposition on that contact value for the e-mail channel, in the registry, which the
sending checks for persons' e-mails and for direct messages alike. Each report is published as the
`email_feedback` event; a report received twice counts once."""

from __future__ import annotations

import email
import email.message
import email.utils
import hmac
import json
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from proactif.kernel import clock, events
from proactif.kernel.logging import get_logger
from proactif.messaging import _outbox as outbox
from proactif.messaging import _receipts as receipts
from proactif.messaging.models import EmailFeedback, OutboxMessage

log = get_logger(__name__)

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
THRESHOLDS = {HARD: 1, SOFT: 3, COMPLAINT: 1}
SOURCES = {HARD: "email_rebond", SOFT: "email_rebond", COMPLAINT: "email_plainte"}
COMPLAINTS = ("abuse", "fraud")  # ARF types that are a complaint (not-spam, virus, other are not)


class Unreadable(ValueError):
    """Not a delivery-status or feedback report."""


@dataclass(frozen=True)
class Report:
    kind: str  # hard | soft | complaint
    address: str  # the recipient the report is about (may be empty: the message's own is taken)
    key: str  # the original message's X-Proactif-Key
    message_id: str  # … or its Message-ID
    status: str  # 5.1.1, 4.2.2, abuse
    detail: str = ""


# --- reading ----------------------------------------------------------------------------------------------------
def _address(field: str) -> str:
    """`rfc822; jeanne@example.org` → jeanne@example.org (the address type before the semicolon)."""
    value = field.split(";", 1)[1] if ";" in field else field
    return value.strip().strip("<>").strip()


def _returned(report: email.message.Message) -> tuple[str, str, str]:
    """(X-Proactif-Key, Message-ID, To) of the original message the report returns."""
    for part in report.walk():
        kind = part.get_content_type()
        headers: Any = None
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            headers = BytesHeaderParser(policy=policy.compat32).parsebytes(bytes(payload).lstrip())
        elif kind == "message/rfc822":
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
        if headers is not None:
            return (str(headers.get("X-Proactif-Key", "") or "").strip(),
                    str(headers.get("Message-ID", "") or "").strip(), str(headers.get("To", "") or "").strip())
    return "", "", ""


def _fields(part: email.message.Message) -> list[email.message.Message]:
    """The blocks of fields of a `message/delivery-status` or `message/feedback-report` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, email.message.Message)]
    decoded = part.get_payload(decode=True)
    text = decoded.lstrip() if isinstance(decoded, bytes) else b""
    return [BytesHeaderParser(policy=policy.compat32).parsebytes(block.strip() + b"\n")
            for block in re.split(rb"\r?\n\r?\n", text) if block.strip()]


def parse(raw: bytes) -> list[Report]:
    """The reports of a DSN or an ARF message (several for a DSN about several recipients; none when the DSN
    tells only of deliveries). Unreadable when it is neither."""
    if not raw.strip():
        raise Unreadable("corps vide : un rapport multipart/report (RFC 3464 ou RFC 5965) est attendu")
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        raise Unreadable(f"type {message.get_content_type()} : un rapport multipart/report (DSN RFC 3464 ou ARF "
                         "RFC 5965) est attendu")
    report_type = str(message.get_param("report-type", "") or "").lower()
    key, message_id, to = _returned(message)
    if report_type == "delivery-status":
        return _dsn(message, key, message_id)
    if report_type == "feedback-report":
        return _arf(message, key, message_id, to)
    raise Unreadable(f"report-type « {report_type[:40]} » : delivery-status ou feedback-report attendu")


def _dsn(message: email.message.Message, key: str, message_id: str) -> list[Report]:
    parts = [p for p in message.walk() if p.get_content_type() in ("message/delivery-status",
                                                                  "message/global-delivery-status")]
    if not parts:
        raise Unreadable("rapport de distribution sans partie message/delivery-status")
    reports = []
    for block in _fields(parts[0])[1:]:  # the first block is about the message, the others about each recipient
        action = str(block.get("Action", "") or "").strip().lower()
        status = str(block.get("Status", "") or "").strip().split(" ", 1)[0]
        address = _address(str(block.get("Final-Recipient", "") or block.get("Original-Recipient", "") or ""))
        if action == "delayed" or (action == "failed" and status.startswith("4.")):
            kind = SOFT
        elif action == "failed":
            kind = HARD
        else:
            continue
        detail = str(block.get("Diagnostic-Code", "") or "").strip()
        reports.append(Report(kind, address, key, message_id, status[:20], _address(detail)[:300]))
    return reports


def _arf(message: email.message.Message, key: str, message_id: str, to: str) -> list[Report]:
    parts = [p for p in message.walk() if p.get_content_type() == "message/feedback-report"]
    if not parts:
        raise Unreadable("rapport de plainte sans partie message/feedback-report")
    blocks = _fields(parts[0])
    fields = blocks[0] if blocks else None
    feedback = str(fields.get("Feedback-Type", "") if fields is not None else "").strip().lower()
    if feedback not in COMPLAINTS:
        return []
    address = _address(str(fields.get("Original-Rcpt-To", "") or "")) if fields is not None else ""
    return [Report(COMPLAINT, address or email.utils.parseaddr(to)[1], key, message_id, feedback)]


# --- the webhook's signature ------------------------------------------------------------------------------------
def secret(provider: str) -> str | None:
    """The provider's secret in PROACTIF_EMAIL_FEEDBACK_SECRETS (a JSON object: provider → secret)."""
    try:
        secrets = json.loads(getattr(settings, "EMAIL_FEEDBACK_SECRETS", "") or "{}")
    except ValueError:
        return None
    value = secrets.get(provider) if isinstance(secrets, dict) else None
    return value if isinstance(value, str) and value else None


def verify(provider: str, body: bytes, signed: str, timestamp: str, now: float | None = None) -> None:
    """As the SMS receipts: hex HMAC-SHA256 of `<timestamp>.<body>` with the provider's secret, the timestamp
    within PROACTIF_WEBHOOK_MAX_AGE_SECONDS (a replay is refused). receipts.BadSignature otherwise."""
    key = secret(provider)
    if not key:
        raise receipts.BadSignature(f"fournisseur inconnu : {provider}")
    if not re.fullmatch(r"[0-9]{1,12}", timestamp or ""):
        raise receipts.BadSignature("horodatage manquant ou illisible (en-tête X-Proactif-Timestamp, secondes Unix)")
    if not hmac.compare_digest(receipts.signature(key, body, timestamp).encode(), (signed or "").encode()):
        raise receipts.BadSignature("signature invalide")
    age = (clock.real_now().timestamp() if now is None else now) - int(timestamp)
    if age > settings.WEBHOOK_MAX_AGE_SECONDS:
        raise receipts.BadSignature(f"horodatage trop ancien ({int(age)} s, {settings.WEBHOOK_MAX_AGE_SECONDS} s "
                                    "au plus) : un appel rejoué est refusé")
    if age < -receipts.FUTURE_SKEW_SECONDS:
        raise receipts.BadSignature(f"horodatage dans le futur ({int(-age)} s d'avance)")


# --- applying ---------------------------------------------------------------------------------------------------
def _message(report: Report) -> OutboxMessage | None:
    if "\x00" in report.key or "\x00" in report.message_id:
        return None  # no message of ours has a NUL in its key or Message-ID (nor can PostgreSQL's text hold one)
    row = OutboxMessage.objects.filter(idempotency_key=report.key).first() if report.key else None
    if row is None and report.message_id:
        row = OutboxMessage.objects.filter(provider="smtp", provider_message_id=report.message_id).first()
    if row is None or not (row.channel == "email" or (not row.channel and "email" in row.policy)):
        return None
    return row


def stopped(address: str) -> bool:
    """Whether the counts of this address reach a threshold."""
    counts = {kind: EmailFeedback.objects.filter(address=address, kind=kind).count() for kind in THRESHOLDS}
    return any(counts[kind] >= limit for kind, limit in THRESHOLDS.items())


def apply(provider: str, raw: bytes) -> dict[str, int]:
    """Read a report and apply each of its parts: {"applied": n, "already": n, "unknown": n, "stopped": n}."""
    figures = {"applied": 0, "already": 0, "unknown": 0, "stopped": 0}
    for report in parse(raw):
        outcome = apply_report(provider, report)
        figures[outcome if outcome != "stopped" else "applied"] += 1
        figures["stopped"] += outcome == "stopped"
    return figures


def apply_report(provider: str, report: Report) -> str:
    """applied | stopped (applied, and the address is stopped by it) | already | unknown."""
    from proactif.accounts.domain import Access, system_actor
    from proactif.registry import services as registry

    row = _message(report)
    address = (row.recipient if row is not None and row.recipient else report.address).strip()
    if row is None or not address or (report.address and report.address.lower() != address.lower()):
        log.info("e-mail feedback matching no message of the outbox", provider=provider, kind=report.kind)
        return "unknown"
    now = clock.now()
    with transaction.atomic():
        was_stopped = stopped(address)
        try:
            with transaction.atomic():
                feedback = EmailFeedback.objects.create(
                    address=address[:400], kind=report.kind, message_key=row.idempotency_key, person_id=row.person_id,
                    provider=provider[:50], status=report.status.replace("\x00", "")[:20],
                    detail=report.detail.replace("\x00", "")[:300], received_at=now)
        except IntegrityError:
            return "already"
        now_stopped = stopped(address)
        if now_stopped and not was_stopped:
            EmailFeedback.objects.filter(pk=feedback.pk).update(stopped=True)
            registry.add_opt_out(Access(system_actor("messagerie.retours"), "tenue_registre"), None,
                                 channel="email", source=SOURCES[report.kind], contact_value=address,
                                 reason={HARD: "adresse inexistante (rebond définitif)",
                                         SOFT: "trois rebonds temporaires",
                                         COMPLAINT: "plainte du destinataire (signalé comme indésirable)"}[report.kind])
        # not delivered: as after a failed receipt, the next channel of its policy takes over
        if report.kind == HARD and OutboxMessage.objects.filter(pk=row.pk, status__in=("sent", "delivered")).update(
                status="failed", failure="permanent", error=f"rebond définitif {report.status} ({provider})",
                updated_at=now):
            outbox.create_fallbacks([(row, "email")])
        events.publish("email_feedback", person_id=row.person_id or 0, address=address, kind=report.kind,
                       key=row.idempotency_key, stopped=now_stopped)
    log.info("e-mail feedback", provider=provider, kind=report.kind, stopped=now_stopped)
    return "stopped" if now_stopped and not was_stopped else "applied"
