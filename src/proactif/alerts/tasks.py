"""Alert tasks: scheduled alerts (road works) leave when their time comes."""

from __future__ import annotations

from datetime import timedelta

from proactif.alerts import services
from proactif.kernel.scheduler import periodic


@periodic(every=timedelta(minutes=5), queue="urgent")
def send_scheduled() -> dict[str, int]:
    return services.send_scheduled()
