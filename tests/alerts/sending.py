"""Sending an alert's messages in a test, on a fixed clock."""

from __future__ import annotations

from datetime import timedelta

from proactif.kernel import clock
from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage


def send_everything(now: clock.FixedClock) -> None:
    """Send what is due, second by second (the rate limit defers the rest by a second), up to the retries of a
    provider that timed out (a loaded machine)."""
    for _ in range(60):
        waiting = OutboxMessage.objects.filter(status="created")
        first = waiting.order_by("not_before").values_list("not_before", flat=True).first()
        if first is None:
            return
        if first > clock.now():
            now.advance(first - clock.now())
        due = list(waiting.filter(not_before__lte=clock.now()).values_list("id", flat=True))
        for start in range(0, len(due), 500):
            outbox.send_batch(due[start:start + 500])
        now.advance(timedelta(seconds=1))
