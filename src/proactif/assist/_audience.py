"""The exempt audience measurement (CNIL: « mesure d'audience exemptée de consentement »): one counter per day,
page and kind of event, incremented on the server. Nothing tells one visitor from another — no cookie, no
address, no identifier — and a search is counted under the theme it was classified into, never its words
(a query can hold a name)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from proactif.assist.models import AudienceCount
from proactif.kernel import clock

RETENTION = timedelta(days=25 * 31)  # 25 months, the CNIL's ceiling for audience figures


def count(path: str, kind: str = "page_vue") -> None:
    day = clock.today()
    path = path[:300]
    if AudienceCount.objects.filter(day=day, path=path, kind=kind).update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            AudienceCount.objects.create(day=day, path=path, kind=kind, count=1)
    except IntegrityError:  # another request created the row first
        AudienceCount.objects.filter(day=day, path=path, kind=kind).update(count=F("count") + 1)


def views_by_path(days: int = 30, kind: str = "page_vue") -> dict[str, int]:
    since = clock.today() - timedelta(days=days)
    rows = AudienceCount.objects.filter(day__gte=since, kind=kind).values("path").annotate(total=Sum("count"))
    return {row["path"]: int(row["total"]) for row in rows}


def total(kind: str = "page_vue", path: str | None = None) -> int:
    rows = AudienceCount.objects.filter(kind=kind)
    if path is not None:
        rows = rows.filter(path=path)
    return int(rows.aggregate(total=Sum("count"))["total"] or 0)


def purge() -> int:
    deleted, _ = AudienceCount.objects.filter(day__lt=clock.today() - RETENTION).delete()
    return deleted
