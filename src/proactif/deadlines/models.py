"""The town hall's agenda (counters, opening hours, closures, appointments) and the follow-up of title
requests from the appointment to the collection."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Counter(models.Model):
    """A counter where titles are requested (a fingerprint station): its slots and parallel seats."""

    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    service = models.CharField(max_length=50, default="etat_civil")
    slot_minutes = models.PositiveSmallIntegerField(default=20)
    seats = models.PositiveSmallIntegerField(default=1)  # appointments at the same time (agents, stations)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField()  # 0 = Monday
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["weekday", "start"]


class Closure(models.Model):
    """A day a counter (or every counter, when empty) is closed besides public holidays."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, null=True, blank=True, related_name="closures")
    day = models.DateField()
    reason = models.CharField(max_length=200, blank=True)


TITLE_LABELS = {"passeport": "passeport", "cni": "carte nationale d'identité"}


class Appointment(models.Model):
    STATUS = [("booked", "Réservé"), ("cancelled", "Annulé"), ("done", "Honoré"), ("missed", "Manqué")]
    CASES = [("renouvellement", "Renouvellement"), ("premiere", "Première demande"), ("perte_vol", "Perte ou vol"),
             ("mineur", "Demande pour un mineur")]

    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    seat = models.PositiveSmallIntegerField(default=0)
    person_id = models.BigIntegerField(db_index=True)
    status = models.CharField(max_length=10, choices=STATUS, default="booked")
    case = models.CharField(max_length=20, choices=CASES, default="renouvellement")
    kinds = models.JSONField(default=list)  # ["passeport", "cni"]
    pre_demandes = models.JSONField(default=list)  # ANTS pre-application numbers
    document_id = models.BigIntegerField(null=True, blank=True)
    instance_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # the journey it serves
    uid = models.CharField(max_length=64, unique=True)  # iCalendar UID
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["counter", "starts_at", "seat"], condition=Q(status="booked"),
                                               name="one_booking_per_seat")]
        indexes = [models.Index(fields=["counter", "starts_at"], name="appointment_slot_idx")]
        ordering = ["starts_at"]

    @property
    def kinds_label(self) -> str:
        """« passeport, carte nationale d'identité »: the titles asked, spelt out."""
        return ", ".join(TITLE_LABELS.get(k, k) for k in self.kinds)


class TitleRequest(models.Model):
    """A title requested at the counter, followed until the citizen collects it (3 months at most)."""

    STATUS = [("deposee", "Demande déposée"), ("prete", "Titre prêt"), ("remise", "Titre remis"),
              ("abandonnee", "Non retiré")]

    person_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=20)
    pre_demande = models.CharField(max_length=10, blank=True, db_index=True)
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="requests")
    old_document_id = models.BigIntegerField(null=True, blank=True)
    instance_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # the journey it serves
    status = models.CharField(max_length=12, choices=STATUS, default="deposee")
    created_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True)
    collect_by = models.DateField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    new_document_id = models.BigIntegerField(null=True, blank=True)
