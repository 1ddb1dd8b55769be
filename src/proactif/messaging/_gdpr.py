"""Messaging's part in GDPR rights and retention: messages sent, replies, engagement, push subscriptions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from proactif.kernel import clock
from proactif.kernel.capabilities import ErasureItem
from proactif.messaging.models import (
    DeliveryReceipt,
    EmailFeedback,
    Engagement,
    InboundMessage,
    Link,
    OutboxMessage,
    PushSubscription,
    SinkMessage,
)


def export(person_id: int) -> dict[str, Any]:
    return {
        "messages": [{"date": (m.sent_at or m.created_at).isoformat(), "canal": m.channel, "statut": m.status,
                      "objet": m.subject, "texte": m.body, "destinataire": m.recipient}
                     for m in OutboxMessage.objects.filter(person_id=person_id).order_by("created_at")],
        "reponses": [{"date": r.received_at.isoformat(), "texte": r.body} for r in
                     InboundMessage.objects.filter(person_id=person_id)],
        "engagements": Engagement.objects.filter(person_id=person_id).count(),
        "abonnements_notifications": PushSubscription.objects.filter(person_id=person_id,
                                                                     revoked_at__isnull=True).count(),
        "retours_email": [{"date": f.received_at.isoformat(), "adresse": f.address,
                           "type": dict(EmailFeedback.KINDS)[f.kind], "adresse_arretee": f.stopped} for f in
                          EmailFeedback.objects.filter(person_id=person_id).order_by("received_at")],
    }


def plan_erasure(person_id: int) -> list[ErasureItem]:
    return [ErasureItem("messages", "anonymise", "le texte et le destinataire sont effacés, la trace de l'envoi "
                                                 "reste (statistiques, preuve de l'information)",
                        OutboxMessage.objects.filter(person_id=person_id).count()),
            ErasureItem("réponses et engagements", "erase", "",
                        InboundMessage.objects.filter(person_id=person_id).count()
                        + Engagement.objects.filter(person_id=person_id).count()),
            ErasureItem("rebonds et plaintes d'e-mails", "erase", "l'opposition sur une adresse arrêtée reste "
                                                                  "dans le registre",
                        EmailFeedback.objects.filter(person_id=person_id).count())]


def erase(person_id: int) -> dict[str, int]:
    return {
        "messages_anonymised": OutboxMessage.objects.filter(person_id=person_id).update(
            body="", recipient="", subject="", context={}),
        "replies": InboundMessage.objects.filter(person_id=person_id).delete()[0],
        "engagements": Engagement.objects.filter(person_id=person_id).delete()[0],
        "push": PushSubscription.objects.filter(person_id=person_id).delete()[0],
        "links": Link.objects.filter(person_id=person_id).delete()[0],
        "email_feedback": EmailFeedback.objects.filter(person_id=person_id).delete()[0],
    }


def purge() -> dict[str, int]:
    cutoff = clock.now() - timedelta(days=settings.MESSAGE_RETENTION_DAYS)
    return {
        "message_bodies": OutboxMessage.objects.filter(created_at__lt=cutoff).exclude(body="").update(
            body="", recipient="", context={}),
        "replies": InboundMessage.objects.filter(received_at__lt=cutoff).delete()[0],
        "expired_links": Link.objects.filter(expires_at__lt=cutoff).delete()[0],
        "email_feedback": EmailFeedback.objects.filter(received_at__lt=cutoff).delete()[0],
    }


def wipe() -> int:
    return sum(model.objects.all().delete()[0] for model in (
        DeliveryReceipt, InboundMessage, OutboxMessage, Engagement, PushSubscription, Link, SinkMessage,
        EmailFeedback))

