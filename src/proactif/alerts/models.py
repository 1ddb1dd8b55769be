"""Incidents: what happened where, the messages sent about it, the residents it reaches (frozen at the first
send), and their answers ("are you safe?")."""

from __future__ import annotations

from django.db import models


class Incident(models.Model):
    STATUS = [("brouillon", "Brouillon"), ("a_valider", "À valider"), ("active", "Active"),
              ("resolue", "Résolue"), ("close", "Close")]

    @property
    def type_label(self) -> str:
        from proactif.alerts.domain import TYPES

        kind = TYPES.get(self.type_code)
        return kind.label if kind else self.type_code

    type_code = models.CharField(max_length=30)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=STATUS, default="brouillon")
    exercise = models.BooleanField(default=False)  # reaches only test contacts; CAP status Exercise
    areas = models.JSONField(default=list)  # GeoJSON features (lon/lat); a Point with `radius` is a circle
    voie_ids = models.JSONField(default=list)
    quartier_ids = models.JSONField(default=list)
    address_ids = models.JSONField(default=list)
    # areas added after the alert, whose residents join at the next message (then frozen like the others)
    added_targets = models.JSONField(default=list)
    area_label = models.CharField(max_length=300, blank=True)  # what residents read: "rue X", "quartier Y"…
    starts_at = models.DateTimeField(null=True, blank=True)  # scheduled incidents (road works)
    ends_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=30, default="agent")  # agent | api | import:<file>
    source_ref = models.CharField(max_length=120, blank=True)  # e.g. the open-data record id of a road work
    created_by = models.CharField(max_length=254)
    approval_requested_by = models.CharField(max_length=254, blank=True)
    approved_by = models.CharField(max_length=254, blank=True)
    pending = models.JSONField(default=dict)  # the message waiting (for approval, or for `send_at`): kind, texts
    send_at = models.DateTimeField(null=True, blank=True)  # a scheduled alert leaves then (road works)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "source_ref"], condition=~models.Q(source_ref=""),
                                               name="incident_unique_source_ref")]


class IncidentMessage(models.Model):
    """An alert, an update or the resolution, as sent: its texts per language and its CAP identity."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    KINDS = [("alerte", "Alerte"), ("mise_a_jour", "Mise à jour"), ("fin", "Fin de l'incident")]

    kind = models.CharField(max_length=12, choices=KINDS)
    texts = models.JSONField()  # language → text
    sent_by = models.CharField(max_length=254)
    sent_at = models.DateTimeField()
    recipients = models.IntegerField(default=0)  # messages queued
    areas = models.JSONField(default=list)  # the areas at that moment (CAP)
    # the fan-out (a link and an outbox message per recipient, by chunks): progress, and when it ended
    fanout_done = models.IntegerField(default=0)
    fanout_progress_at = models.DateTimeField(null=True, blank=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["incident", "seq"], name="incident_message_seq")]


class IncidentRecipient(models.Model):
    """A resident the incident reaches: frozen at the first send; an area added later adds residents."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="recipients")
    person_id = models.BigIntegerField()
    from_seq = models.PositiveIntegerField(default=1)  # the first message of the incident they received
    answer = models.CharField(max_length=12, blank=True)  # en_securite | besoin_aide
    answer_channel = models.CharField(max_length=12, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)  # what the resident wrote (shown to agents only)
    handled_by = models.CharField(max_length=254, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "person_id"], name="incident_recipient_once")]
        indexes = [models.Index(fields=["incident", "answer"])]
