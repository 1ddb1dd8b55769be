"""Every call to another administration's API, and the answers kept for the month they describe."""

from __future__ import annotations

from django.db import models


class ConnectorCall(models.Model):
    """Who asked what of whom, why and on what legal basis — never the answer's content."""

    at = models.DateTimeField(db_index=True)
    api = models.CharField(max_length=30)
    operation = models.CharField(max_length=60)
    mode = models.CharField(max_length=20, blank=True)
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    recipient = models.CharField(max_length=14, blank=True)  # SIRET of the administration receiving the data
    purpose = models.CharField(max_length=60)
    legal_basis = models.CharField(max_length=200)
    actor = models.CharField(max_length=254)
    status = models.PositiveSmallIntegerField(default=0)  # HTTP status (0: no answer)
    error_code = models.CharField(max_length=20, blank=True)
    from_cache = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)


class CachedAnswer(models.Model):
    """An answer about a person for a month (their situation that month), reused until it expires."""

    api = models.CharField(max_length=30)
    operation = models.CharField(max_length=60)
    subject = models.CharField(max_length=64)  # a hash of the identity, or the identifier
    # the person the call was made for (from its CallContext): their GDPR export and erasure find it by this
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    month = models.CharField(max_length=7)  # YYYY-MM
    status = models.PositiveSmallIntegerField()  # 200, or 404 (nobody: also worth remembering)
    data = models.JSONField(default=dict)
    fetched_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api", "operation", "subject", "month"],
                                               name="cached_answer_unique")]
