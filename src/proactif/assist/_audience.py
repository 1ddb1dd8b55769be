"""The exempt audience measurement (CNIL: « mesure d'audience exemptée de consentement »): one counter per day,
page and kind of event, incremented on the server. Nothing tells one visitor from another — no cookie, no
address, no identifier — and a search is counted under the theme it was classified into, never its words
(a query can hold a name)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Sum

from proactif.assist.models import AudienceCount
from proactif.kernel import clock

RETENTION = timedelta(days=25 * 31)  # 25 months, the CNIL's ceiling for audience figures


def count(path: str, kind: str = "page_vue") -> None:
    add(AudienceCount, ("path", "kind"), {(path[:300], kind): (1,)}, ("count",))


def add(model: Any, keys: tuple[str, ...], rows: Mapping[tuple[Any, ...], tuple[int, ...]],
        counters: tuple[str, ...]) -> None:
    """Add to today's counters of `model` (a table keyed by day and `keys`), creating the rows that do not exist, in
    one statement (SQLite ≥ 3.24 and PostgreSQL's INSERT … ON CONFLICT DO UPDATE); rows in key order so that
    concurrent requests lock them in the same order. The audience counts and the personalisation's block counts."""
    if not rows:
        return
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    columns = ["day", *keys, *counters]
    day = connection.ops.adapt_datefield_value(clock.today())
    params: list[Any] = []
    for key in sorted(rows):
        params += [day, *key, *rows[key]]
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    updates = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in counters)
    sql = (f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) VALUES {values} "
           f"ON CONFLICT ({', '.join(q(c) for c in ['day', *keys])}) DO UPDATE SET {updates}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


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
