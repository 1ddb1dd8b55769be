"""Messaging tasks: send on each lane, sweep, fall back, print letters. Tasks take ids; all idempotent."""

from __future__ import annotations

import time as pytime
from datetime import time, timedelta
from typing import Any

from proactif.kernel import clock
from proactif.kernel.executor import task
from proactif.kernel.scheduler import periodic
from proactif.messaging import _outbox as outbox

URGENT_RATE_RETRIES = 60  # seconds an urgent task waits at most for the rate limit before the sweeper takes over


@task(queue="urgent")
def send_urgent(ids: list[int]) -> dict[str, int]:
    """An alert's messages held back by a per-service rate limit go again as soon as the limit allows — the
    worker waits the second out — rather than at the sweeper's next pass."""
    figures = dict(outbox.send_batch(ids))
    before = len(ids)
    for _ in range(URGENT_RATE_RETRIES):
        held = outbox.held_by_rate(ids)
        if not held or len(held) >= before or not clock.is_running():  # done, stuck: the sweeper's turn
            break
        before = len(held)
        pytime.sleep(1.0)
        for action, count in outbox.send_batch(held).items():
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
