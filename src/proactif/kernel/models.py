from django.db import models


class ClockState(models.Model):
    """One row: how far `proactif simulate` has moved every process's clock ahead of real time."""

    offset_seconds = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = "état de l'horloge"


class ScheduledJob(models.Model):
    """Durable state of a periodic job: its next due time and the lease of whoever claimed it."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True)
    last_started_at = models.DateTimeField(null=True)
    last_finished_at = models.DateTimeField(null=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)
    state = models.JSONField(default=dict, blank=True)  # what the job keeps between runs (a watermark…)


class DeferredIndex(models.Model):
    """A secondary index dropped for a bulk load, kept here until it is rebuilt (even after a crash)."""

    name = models.CharField(max_length=200, primary_key=True)
    table = models.CharField(max_length=200)
    definition = models.TextField()
    dropped_at = models.DateTimeField()


class RequestWindow(models.Model):
    """How much a subject (a keyed hash, never the address itself) spent in one window of a rate limit."""

    scope = models.CharField(max_length=40)
    subject = models.CharField(max_length=32)
    start = models.BigIntegerField()  # the window's first second, in Unix time
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "subject", "start"], name="request_window_unique")]
        indexes = [models.Index(fields=["start"], name="request_window_start")]
