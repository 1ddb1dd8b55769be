"""Alert tasks: scheduled alerts (road works) leave when their time comes; stalled fan-outs are finished."""

from __future__ import annotations

from datetime import timedelta

from proactif.alerts import services
from proactif.kernel.scheduler import periodic


@periodic(every=timedelta(minutes=5), queue="urgent")
def send_scheduled() -> dict[str, int]:
    return services.send_scheduled()


@periodic(every=timedelta(minutes=1), queue="urgent")
def resume_fan_outs() -> dict[str, int]:
    """An alert whose sender died while writing its messages is finished by another worker."""
    return services.resume_fan_outs()
