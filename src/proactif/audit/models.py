from __future__ import annotations

from typing import Any, NoReturn

from django.db import models


class AppendOnlyError(Exception):
    pass


class AccessLogQuerySet(models.QuerySet["AccessLog"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("the access log is append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("the access log is append-only; rows leave only through the retention purge")


class AccessLog(models.Model):
    """Who read or changed which person's data, when, for which purpose (CNIL délibération 2021-122).

    Append-only: the ORM refuses updates and deletes, and a database trigger refuses UPDATE.
    `person_id` is a plain integer, not a foreign key, so the trace outlives an erasure.
    """

    at = models.DateTimeField(db_index=True)
    actor_kind = models.CharField(max_length=20)  # agent | api_key | system
    actor_id = models.BigIntegerField(null=True)
    actor_label = models.CharField(max_length=254)
    service = models.CharField(max_length=50, blank=True)
    person_id = models.BigIntegerField(null=True)
    purpose = models.CharField(max_length=50)
    action = models.CharField(max_length=30)  # view | search | change | export | erase | merge | import…
    section = models.CharField(max_length=50, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # ids and counts only, never personal data
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["person_id", "at"]),
            models.Index(fields=["actor_kind", "actor_id", "at"]),
            models.Index(fields=["action", "at"], name="accesslog_action_at_idx"),  # exports of the week (DPO)
        ]
        ordering = ["-at", "-id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("the access log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("the access log is append-only")
