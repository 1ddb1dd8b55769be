"""The synthetic population's daily behaviour (demos and simulations only: see synth.behaviour)."""

from __future__ import annotations

from datetime import time, timedelta

from proactif.kernel.scheduler import periodic
from proactif.synth import _behaviour as behaviour


@periodic(every=timedelta(days=1), at=time(12, 0))
def synthetic_behaviour() -> dict[str, int]:
    return behaviour.act()


@periodic(every=timedelta(minutes=5), due=behaviour.checkin_answers_due)
def synthetic_checkin_answers() -> dict[str, int]:
    """Synthetic residents answer the heatwave check-ins (watch) a quarter of an hour after they reach them."""
    return behaviour.answer_checkins()
