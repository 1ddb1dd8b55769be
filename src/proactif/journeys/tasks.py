"""Journey tasks: daily entry into date-triggered journeys; advancing due instances, in batches."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from proactif.journeys import _engine as engine
from proactif.journeys import services
from proactif.kernel.scheduler import periodic


@periodic(every=timedelta(days=1), at=time(6, 0))
def enter() -> dict[str, int]:
    """Everyone whose date entered a journey's window since yesterday starts it."""
    figures = services.enter_due()
    figures["advanced"] = engine.run_until_idle().get("advanced", 0)
    return figures


@periodic(every=timedelta(seconds=20), queue="transactional", lease=timedelta(minutes=5), due=engine.next_due)
def advance() -> dict[str, Any]:
    return engine.run_until_idle()
