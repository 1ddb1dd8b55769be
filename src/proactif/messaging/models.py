"""Messaging: templates, the outbox (a message is a row before it is a task), receipts, replies, links,
engagement, push subscriptions, and what the built-in sinks received."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from proactif.messaging.domain import CHANNEL_LABELS

CHANNELS = [(code, label[0].upper() + label[1:]) for code, label in CHANNEL_LABELS.items()]
LANES = [("urgent", "Urgent"), ("transactional", "Transactionnel"), ("bulk", "Campagne")]


class Template(models.Model):
    """One version of a message template for a channel and a language. Published versions are immutable."""

    STATUS = [("draft", "Brouillon"), ("published", "Publié"), ("archived", "Archivé")]

    key = models.CharField(max_length=100)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    language = models.CharField(max_length=5, default="fr")
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    placeholders = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=STATUS, default="draft")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "channel", "language", "version"],
                                               name="template_version_unique")]
        ordering = ["key", "channel", "language", "-version"]


class OutboxMessage(models.Model):
    """A message to send: persisted first, queued by id, sent only if still pending, swept if stuck."""

    STATUS = [("created", "Créé"), ("sending", "En cours d'envoi"), ("sent", "Envoyé"), ("delivered", "Distribué"),
              ("failed", "Échec"), ("cancelled", "Annulé")]
    FAILURES = [("permanent", "Définitif"), ("temporary", "Temporaire"), ("technical", "Technique"),
                ("unknown", "Issue inconnue")]

    idempotency_key = models.CharField(max_length=200)  # unique: see Meta (no LIKE index to maintain)
    person_id = models.BigIntegerField(null=True)  # indexed with sent_at (outbox_person_sent_idx)
    service = models.CharField(max_length=50)
    purpose = models.CharField(max_length=50)  # communication purpose: consent is checked for it at send time
    lane = models.CharField(max_length=15, choices=LANES, default="transactional")
    policy = models.JSONField(default=list)  # ordered channels, "preferred" expands to the person's order
    channel = models.CharField(max_length=10, blank=True)
    tried = models.JSONField(default=list)  # channels already tried for this message (fallback)
    template_key = models.CharField(max_length=100, blank=True)
    context = models.JSONField(default=dict)  # ids and small values; the text is rendered at send time
    status = models.CharField(max_length=10, choices=STATUS, default="created")
    failure = models.CharField(max_length=10, choices=FAILURES, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # times sent again after an attempt whose outcome was unknown (same provider, same key): possible
    # duplicates where the provider does not deduplicate (e-mail)
    unknown_retries = models.PositiveSmallIntegerField(default=0, db_default=0)  # raw inserts too (broadcast)
    not_before = models.DateTimeField()
    rate_slot = models.DateTimeField(null=True, blank=True)  # the rate-limit second reserved for it (urgent)
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    recipient = models.CharField(max_length=400, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    trigger = models.CharField(max_length=50, default="manual")
    instance_id = models.BigIntegerField(null=True, db_index=True)
    step = models.CharField(max_length=100, blank=True)
    fallback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    db_index=False)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        # Every index is paid at each of the millions of inserts: partial where most rows have nothing to find.
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="outbox_key_unique")]
        indexes = [
            models.Index(fields=["claim_token"], condition=~Q(claim_token=""), name="outbox_claim_idx"),
            models.Index(fields=["fallback_of"], condition=Q(fallback_of__isnull=False), name="outbox_fallback_idx"),
            # Partial indexes: a row is in each only while it matters there (waiting, being sent, sent), so
            # creating thousands of messages a second maintains as few index entries as possible
            models.Index(fields=["not_before"], condition=Q(status="created"), name="outbox_due_idx"),
            models.Index(fields=["person_id", "sent_at"], condition=Q(sent_at__isnull=False),
                         name="outbox_person_sent_idx"),
            models.Index(fields=["lease_until"], condition=Q(status="sending"), name="outbox_lease_idx"),
            models.Index(fields=["trigger", "channel", "status"], name="outbox_trigger_idx"),
            # receipts and webhook statuses that name a message by the provider's id only (Messenger `mid`…)
            models.Index(fields=["provider", "provider_message_id"], condition=~Q(provider_message_id=""),
                         name="outbox_provider_id_idx"),
        ]


class DeliveryReceipt(models.Model):
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="receipts")
    provider = models.CharField(max_length=50)
    status = models.CharField(max_length=20)  # delivered | failed | …
    detail = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField()


class InboundMessage(models.Model):
    """A reply received from a citizen (SMS): STOP, or anything else attached to the person and journey."""

    KINDS = [("stop", "Désinscription"), ("start", "Réinscription"), ("reply", "Réponse")]

    channel = models.CharField(max_length=10, default="sms")
    provider = models.CharField(max_length=50, blank=True)
    sender = models.CharField(max_length=320)
    body = models.TextField()
    kind = models.CharField(max_length=10, choices=KINDS)
    person_id = models.BigIntegerField(null=True, db_index=True)
    message = models.ForeignKey(OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    instance_id = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField()
    # the provider's id of the message (WhatsApp `wamid`, Messenger `mid`, an SMS gateway's id): a webhook
    # delivered twice, or replayed, is one reply
    provider_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "provider_message_id"],
                                               condition=~Q(provider_message_id=""), name="inbound_once")]


class Link(models.Model):
    """A signed, expiring, single-purpose link sent to a citizen; each click is an engagement."""

    purpose = models.CharField(max_length=50)  # e.g. deadlines.booking
    person_id = models.BigIntegerField()
    instance_id = models.BigIntegerField(null=True, blank=True)
    message_key = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    first_used_at = models.DateTimeField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)


class Engagement(models.Model):
    """A citizen's action after a message — a click, a reply, a booking (never an e-mail open) — used to
    learn the best time to reach each person."""

    person_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=20)
    channel = models.CharField(max_length=10, blank=True)
    at = models.DateTimeField()
    hour_of_week = models.PositiveSmallIntegerField()  # 0 = Monday 00:00–01:00 local time … 167
    message_key = models.CharField(max_length=200, blank=True)
    instance_id = models.BigIntegerField(null=True, blank=True)


class PushSubscription(models.Model):
    person_id = models.BigIntegerField(db_index=True)
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)


class LetterBatch(models.Model):
    """Letters for the print shop: one PDF and its manifest a day."""

    created_at = models.DateTimeField()
    count = models.PositiveIntegerField()
    pdf = models.CharField(max_length=500)
    manifest = models.CharField(max_length=500)


class RateWindow(models.Model):
    """Messages sent per service, channel and second (per-service rate limits shared by every worker)."""

    service = models.CharField(max_length=50)
    channel = models.CharField(max_length=10)
    window = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "channel", "window"], name="rate_window_unique")]
        indexes = [models.Index(fields=["window"], name="rate_window_idx")]


class SinkMessage(models.Model):
    """What a built-in sink received (local SMTP server, SMS and push provider emulation): the demo's and the
    tests' stand-in for the outside world. Keyed by idempotency key, with the number of submissions."""

    channel = models.CharField(max_length=10)
    provider = models.CharField(max_length=50)
    idempotency_key = models.CharField(max_length=200)
    recipient = models.CharField(max_length=400)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    submissions = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "idempotency_key"], name="sink_key_unique")]
        ordering = ["-received_at", "-id"]


class EmailFeedback(models.Model):
    """A bounce or a complaint about an e-mail the outbox sent (`_feedback`): a DSN (RFC 3464) or an ARF report
    (RFC 5965) that a provider's webhook or the SMTP sink returned. Counted per address: after 1 hard bounce, 3 soft
    ones or 1 complaint the address is stopped (an opposition on that contact value, e-mail channel, in the
    registry), and the row that crossed the threshold says so (`stopped`)."""

    KINDS = [("hard", "Rebond définitif"), ("soft", "Rebond temporaire"), ("complaint", "Plainte")]

    address = models.CharField(max_length=400)
    kind = models.CharField(max_length=10, choices=KINDS)
    message_key = models.CharField(max_length=200)  # the outbox message's idempotency key
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    provider = models.CharField(max_length=50)
    status = models.CharField(max_length=20, blank=True)  # the DSN's Status (5.1.1) or the ARF Feedback-Type
    detail = models.CharField(max_length=300, blank=True)
    stopped = models.BooleanField(default=False)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message_key", "address", "kind"], name="email_feedback_once")]
        indexes = [models.Index(fields=["address", "kind"], name="email_feedback_address_idx")]
