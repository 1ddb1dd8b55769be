"""Journeys are data: immutable versioned definitions, one row per instance with its current node, status
and next wake-up, and an append-only log of everything that happened to it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class JourneyDefinition(models.Model):
    STATUS = [("draft", "Brouillon"), ("published", "Publiée"), ("retired", "Retirée")]

    key = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    service = models.CharField(max_length=50)
    purpose = models.CharField(max_length=50)
    source = models.TextField()  # the YAML as written
    spec = models.JSONField()  # the checked, compiled definition
    source_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=STATUS, default="draft")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "version"], name="journey_version_unique")]
        ordering = ["key", "-version"]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class JourneyInstance(models.Model):
    STATUS = [("active", "En cours"), ("paused", "En pause"), ("completed", "Terminé"), ("exited", "Sorti")]
    LIVE = ("active", "paused")
    # How an instance ended, as an agent reads it; a goal or an end node names its own outcome (« titre_remis »)
    OUTCOME_LABELS = {"termine": "", "opposition": "opposition de la personne", "boucle": "arrêté (boucle)"}

    @property
    def outcome_label(self) -> str:
        """« titre_remis » → « titre remis »; nothing when the outcome only repeats the status (« termine »)."""
        if self.outcome in self.OUTCOME_LABELS:
            return self.OUTCOME_LABELS[self.outcome]
        return self.outcome.replace("_", " ")

    definition = models.ForeignKey(JourneyDefinition, on_delete=models.PROTECT, related_name="instances",
                                   db_index=False)  # instances are found by journey_key (instance_subject_idx)
    journey_key = models.CharField(max_length=100)
    person_id = models.BigIntegerField(db_index=True)
    subject_id = models.BigIntegerField(null=True, blank=True)  # what made the person enter (a document…)
    status = models.CharField(max_length=10, choices=STATUS, default="active")
    node = models.CharField(max_length=100)
    steps = models.PositiveIntegerField(default=0)
    next_wake_at = models.DateTimeField(null=True, blank=True)
    waiting_for = models.JSONField(default=list, blank=True)
    timeout_at = models.DateTimeField(null=True, blank=True)  # when the current wait for an event gives up
    inbox = models.JSONField(default=list, blank=True)  # events received and not yet consumed, oldest first
    pending_event = models.CharField(max_length=50, blank=True)
    context = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    entered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person_id", "journey_key"],
                                               condition=Q(status__in=("active", "paused")),
                                               name="one_live_instance_per_person_and_journey")]
        indexes = [models.Index(fields=["status", "next_wake_at"], name="instance_due_idx"),
                   models.Index(fields=["journey_key", "subject_id"], name="instance_subject_idx")]


class JourneyEvent(models.Model):
    """Append-only: entered, node, event, timeout, goal, completed, exit, takeover, error…"""

    instance = models.ForeignKey(JourneyInstance, on_delete=models.CASCADE, related_name="events",
                                 db_index=False)  # indexed with `at` (event_instance_idx)
    at = models.DateTimeField()
    kind = models.CharField(max_length=20)
    node = models.CharField(max_length=100, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=254, blank=True)

    class Meta:
        indexes = [models.Index(fields=["instance", "at"], name="event_instance_idx")]
        ordering = ["at", "id"]


class AgentTask(models.Model):
    """A task a journey puts in a service's inbox (call the person, check a file…)."""

    STATUS = [("open", "À faire"), ("done", "Faite"), ("cancelled", "Annulée")]

    instance = models.ForeignKey(JourneyInstance, on_delete=models.CASCADE, related_name="tasks")
    person_id = models.BigIntegerField()
    service = models.CharField(max_length=50, db_index=True)
    title = models.CharField(max_length=300)
    node = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=STATUS, default="open")
    created_at = models.DateTimeField()
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=254, blank=True)
    note = models.TextField(blank=True)


class NodeVisit(models.Model):
    """How many instances went through each node of a definition version (the funnel)."""

    definition = models.ForeignKey(JourneyDefinition, on_delete=models.CASCADE, related_name="visits")
    node = models.CharField(max_length=100)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["definition", "node"], name="visit_unique")]
