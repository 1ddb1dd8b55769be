"""A budget of requests shared by every process and every machine of the platform: its windows live in the
database (`RequestWindow`), so that four web workers behind a load balancer give a client one budget, not four.

`take(scope, subject, amount, limit)` adds `amount` to the subject's count in the current window and answers None
when the count stays within `limit`, else the seconds until the next window (for `Retry-After`); a refused
amount is taken back, so a refused request does not eat the share of the next. One statement in the common case:
an INSERT … ON CONFLICT DO UPDATE … RETURNING (SQLite ≥ 3.35, PostgreSQL), atomic under concurrency on both.

The subject (a client address…) is never stored: the row holds a keyed hash of it (HMAC with the secret key). A
window's rows are removed when the subject's next window opens, and the nightly `purge` sweeps the others.

Messaging's sending caps (`messaging._ratelimit`) are another mechanism: they grant part of a batch and reserve
seconds ahead for alerts, where this one answers yes or no to a request.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import connection

from proactif.kernel import clock
from proactif.kernel.models import RequestWindow


def subject_key(scope: str, subject: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{scope}\x00{subject}".encode(), hashlib.sha256).hexdigest()[:32]


def _window(window: int) -> tuple[float, int]:
    now = clock.now().timestamp()
    return now, int(now // window) * window


def check(scope: str, subject: str, amount: int, limit: int, window: int = 60) -> int | None:
    """What `take` would answer, read only (no write lock): a refusal before costly work, the count itself being
    `take`'s, in the transaction that does the work."""
    now, start = _window(window)
    spent = RequestWindow.objects.filter(scope=scope, subject=subject_key(scope, subject), start=start).values_list(
        "count", flat=True).first() or 0
    return max(1, start + window - int(now)) if spent + amount > limit else None


def take(scope: str, subject: str, amount: int, limit: int, window: int = 60) -> int | None:
    """None when `subject` may spend `amount` more in this `window` (seconds) of `scope`, else the seconds to wait.
    Called inside the transaction that does the request's writes, it costs no transaction of its own (on SQLite,
    a second write transaction per request halves the endpoint's rate)."""
    now, start = _window(window)
    key = subject_key(scope, subject)
    q = connection.ops.quote_name
    table = q(RequestWindow._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, subject, start, count) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (scope, subject, start) DO UPDATE SET count = {table}.count + excluded.count "
            "RETURNING count", [scope, key, start, amount])
        total = int(cursor.fetchone()[0])
        if total > limit:
            cursor.execute(f"UPDATE {table} SET count = count - %s WHERE scope = %s AND subject = %s AND start = %s",
                           [amount, scope, key, start])
            return max(1, start + window - int(now))
        if total == amount:  # the subject's first request in this window: its older windows are over
            cursor.execute(f"DELETE FROM {table} WHERE scope = %s AND subject = %s AND start < %s",
                           [scope, key, start])
    return None


def purge(older_than: int = 3600) -> int:
    """Remove the windows that started more than `older_than` seconds ago (the subjects that did not come back)."""
    deleted, _ = RequestWindow.objects.filter(start__lt=int(clock.now().timestamp()) - older_than).delete()
    return deleted
