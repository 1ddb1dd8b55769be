"""Screening runs, their results per household and benefit, the cache that makes re-runs incremental, and
the outreach that follows a detection until the right is claimed, refused or left."""

from __future__ import annotations

from django.db import models


class ScreeningRun(models.Model):
    STATUS = [("queued", "En attente"), ("running", "En cours"), ("done", "Terminé"), ("failed", "Échoué")]

    period = models.CharField(max_length=7)  # YYYY-MM
    benefits = models.JSONField(default=list)
    floor = models.FloatField(default=10.0)
    use_cache = models.BooleanField(default=True)  # take unchanged households from earlier results
    status = models.CharField(max_length=10, choices=STATUS, default="queued")
    households_total = models.IntegerField(default=0)
    households_done = models.IntegerField(default=0)
    households_cached = models.IntegerField(default=0)  # results taken from the cache (inputs unchanged)
    chunks_total = models.IntegerField(default=0)
    chunks_done = models.IntegerField(default=0)
    model_version = models.CharField(max_length=120)
    summary = models.JSONField(default=dict)  # per benefit: eligible, receiving, detected, potential €/month
    started_by = models.CharField(max_length=254)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def progress(self) -> int:
        return round(100 * self.households_done / self.households_total) if self.households_total else 0


class ScreeningChunk(models.Model):
    """A run's unit of work: a list of households computed in one simulation, by one worker."""

    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.IntegerField()
    household_ids = models.JSONField()
    status = models.CharField(max_length=10, default="pending")  # pending | done
    summary = models.JSONField(default=dict)
    cached = models.IntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_chunk_per_index")]


class Assessment(models.Model):
    """One household and benefit of a run where the household is eligible or already receiving (the others are
    all-zero rows, written only in the export)."""

    run = models.ForeignKey(ScreeningRun, on_delete=models.CASCADE, related_name="assessments")
    household_id = models.BigIntegerField()
    quartier_id = models.BigIntegerField(null=True, blank=True)
    benefit = models.CharField(max_length=30)
    amount = models.FloatField()  # euros per month, the period
    previous_amount = models.FloatField()  # the month before
    eligible = models.BooleanField()
    receiving = models.BooleanField()
    detected = models.BooleanField()
    stable = models.BooleanField()
    opposed = models.BooleanField(default=False)
    confidence = models.CharField(max_length=10)  # haute | moyenne | faible
    reasons = models.JSONField(default=list)
    missing = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["run", "detected", "benefit"], name="assessment_run_idx"),
                   models.Index(fields=["run", "household_id"], name="assessment_household_idx")]


class HouseholdResult(models.Model):
    """The incremental cache: a household's amounts for a month, kept with the hash of the situation computed
    and the model version; a re-run with the same inputs and model takes them instead of computing."""

    household_id = models.BigIntegerField()
    period = models.CharField(max_length=7)
    input_hash = models.CharField(max_length=64)
    model_version = models.CharField(max_length=120)
    amounts = models.JSONField()  # {"YYYY-MM": {benefit: amount}} for the screened months
    figures = models.JSONField(default=dict)  # key figures shown in the explanation
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["household_id", "period", "model_version"],
                                               name="one_result_per_household_month_model")]


class Outreach(models.Model):
    """A household told of its possible rights, followed until they are claimed, granted, refused or left."""

    STATUS = [("a_informer", "À informer"), ("informe", "Informé"), ("rdv_demande", "Rendez-vous demandé"),
              ("demande", "Demande déposée"), ("ouvert", "Droit ouvert"), ("refuse", "Refus d'être informé"),
              ("sans_suite", "Sans suite")]

    run = models.ForeignKey(ScreeningRun, on_delete=models.PROTECT, related_name="outreaches")
    household_id = models.BigIntegerField()
    person_id = models.BigIntegerField(db_index=True)  # who is written to: the household's reference person
    benefits = models.JSONField()  # [{"benefit": "rsa", "amount": 612.3}]
    status = models.CharField(max_length=12, choices=STATUS, default="a_informer")
    instance_id = models.BigIntegerField(null=True, blank=True)
    followups = models.JSONField(default=list)  # [{"at", "step": "M+1", "benefit", "source", "receiving", ...}]
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    granted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "household_id"], name="one_outreach_per_run")]
        ordering = ["-created_at", "-id"]
