"""The public site's scheduled work: its retention (consent proofs, anonymous audience counts)."""

from __future__ import annotations

from datetime import time, timedelta

from proactif.assist import services
from proactif.kernel.scheduler import periodic


@periodic(every=timedelta(days=1), at=time(3, 40))
def retention() -> dict[str, int]:
    """Consent proofs five years after they lapse, audience counts older than 25 months."""
    return services.purge()
