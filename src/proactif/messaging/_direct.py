"""Messages addressed to a contact value rather than to a person: a registered person's emergency contact or
referent, who is often no resident (`MessageSpec(person_id=None, address=…, policy=[one channel])`).

The value is the row's recipient from its creation. At send time it meets the oppositions in force on that
value (an SMS STOP from the number, for the message's purpose or all) — no consent is asked of someone the
platform does not know — then the quiet hours of its purpose like anyone's, never the frequency caps (no history
of a person to count); its template is rendered in French with the message's own data, without `personne`. It is
treated as real unless its context says `"synthetic": true` (the demo's contacts: the built-in sinks only).

The person the contact is attached to is named by an id in the context (the capability's): `direct_messages`
finds these messages for their GDPR export, `erase_direct` blanks them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from proactif.kernel import clock
from proactif.messaging import domain
from proactif.messaging.models import EmailFeedback, InboundMessage, OutboxMessage
from proactif.registry import services as registry

OPPOSED = "opposition enregistrée pour ce destinataire"
ERASED = "destinataire effacé à la demande de la personne (RGPD)"


def is_direct(row: OutboxMessage) -> bool:
    return row.person_id is None and bool(row.recipient)


def open_channels(rows: list[OutboxMessage]) -> dict[tuple[str, str], frozenset[str]]:
    """(recipient, purpose) → the channels the oppositions on that value leave open for the purpose."""
    by_purpose: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_purpose[row.purpose].add(row.recipient)
    out: dict[tuple[str, str], frozenset[str]] = {}
    for purpose, values in by_purpose.items():
        for value, channels in registry.contact_channels(sorted(values), purpose).items():
            out[(value, purpose)] = channels
    return out


def recipient(row: OutboxMessage, open_to: frozenset[str]) -> domain.Recipient:
    """What the value offers at send time: its one address on the message's channel, and what is left open."""
    return domain.Recipient((), {row.policy[0]: row.recipient}, open_to)


def synthetic(row: OutboxMessage) -> bool:
    return (row.context or {}).get("synthetic") is True


# --- GDPR of the person a contact is attached to --------------------------------------------------------------
def _key(context_key: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", context_key):
        raise ValueError(f"clé de contexte invalide « {context_key[:40]} »")
    return context_key


def direct_messages(context_key: str, ids: list[int]) -> QuerySet[OutboxMessage]:
    """Messages addressed to contact values (no person) whose context names one of `ids` under `context_key` —
    the messages sent to a registered person's contacts, found by the person's registration. A JSON look-up
    SQLite and PostgreSQL both run."""
    if not ids:
        return OutboxMessage.objects.none()
    return OutboxMessage.objects.filter(person_id__isnull=True, **{f"context__{_key(context_key)}__in": list(ids)})


def erase_direct(context_key: str, ids: list[int]) -> int:
    """Blank those messages — recipient, subject, body, and every value of their context but the ids, which keep
    the trace of the sending (statistics, proof of the information) — and delete the replies received to them;
    those not sent yet are cancelled. Returns the number of messages blanked."""
    now = clock.now()
    with transaction.atomic():
        rows = list(direct_messages(context_key, ids).values_list("id", "context", "status"))
        for pk, context, status in rows:
            kept = {k: v for k, v in (context or {}).items() if k == context_key or k.endswith("_id")}
            fields: dict[str, Any] = {"recipient": "", "subject": "", "body": "", "context": kept, "updated_at": now}
            if status == "created":
                fields.update(status="cancelled", error=ERASED)
            OutboxMessage.objects.filter(pk=pk).update(**fields)
        InboundMessage.objects.filter(message_id__in=[pk for pk, _, _ in rows]).delete()
        EmailFeedback.objects.filter(message_key__in=OutboxMessage.objects.filter(
            pk__in=[pk for pk, _, _ in rows]).values("idempotency_key")).delete()
    return len(rows)
