"""Messaging tasks: send on each lane, sweep, fall back, print letters. Tasks take ids; all idempotent."""

from __future__ import annotations

import time as pytime
from datetime import time, timedelta
from typing import Any

from proactif.kernel import clock, database
from proactif.kernel.executor import task
from proactif.kernel.scheduler import periodic
from proactif.messaging import _outbox as outbox

URGENT_RATE_WAIT = 120  # seconds an urgent task waits at most for its messages' rate-limit seconds


@task(queue="urgent")
def send_urgent(ids: list[int]) -> dict[str, int]:
    """An alert's messages held back by a per-service rate limit hold the next seconds with room (reserved in
    order across workers): the task sleeps until each opens and sends its messages then, rather than leaving
    them to the sweeper's next pass. Beyond URGENT_RATE_WAIT, the sweeper sends them when their second comes."""
    figures = dict(outbox.send_batch(ids))
    deadline = pytime.monotonic() + URGENT_RATE_WAIT
    while clock.is_running():  # a fixed test clock never reaches the next second
        waiting = database.patiently(lambda: outbox.rate_slots(ids), deadline, "rate slots")
        if not waiting:
            break
        now = clock.now()
        first = min(slot for _, slot in waiting)
        wait = (first - now).total_seconds()
        if pytime.monotonic() + wait > deadline:
            break
        pytime.sleep(max(0.05, wait))
        now = clock.now()
        for action, count in outbox.send_batch([pk for pk, slot in waiting if slot <= now]).items():
            figures[action] = figures.get(action, 0) + count
    return figures


@task(queue="transactional")
def send_transactional(ids: list[int]) -> dict[str, int]:
    return outbox.send_batch(ids)


@task(queue="bulk")
def send_bulk(ids: list[int]) -> dict[str, int]:
    return outbox.send_batch(ids)


@periodic(every=timedelta(seconds=30), queue="transactional", lease=timedelta(minutes=2), due=outbox.next_due)
def sweep() -> dict[str, int]:
    return outbox.sweep()


@periodic(every=timedelta(minutes=15), due=outbox.next_fallback_due)
def fallbacks() -> dict[str, int]:
    return outbox.fallback_overdue()


@periodic(every=timedelta(days=1), at=time(15, 0))
def print_letters() -> dict[str, Any]:
    """The day's letters in one PDF and a manifest for the print shop."""
    from pathlib import Path

    from django.conf import settings

    from proactif.messaging._channels.letter import make_batch
    from proactif.messaging.models import LetterBatch

    made = make_batch(Path(settings.LETTERS_DIR), clock.local_now().strftime("%Y-%m-%d-%H%M"))
    if made is None:
        return {"letters": 0}
    pdf, manifest, count = made
    LetterBatch.objects.create(created_at=clock.now(), count=count, pdf=str(pdf), manifest=str(manifest))
    return {"letters": count, "pdf": str(pdf)}
