"""Watch's scheduled work: the day's rounds of the plans in campaign (before the check-ins' hours open), the
register's daily reconciliation with the registry (moves, deaths), the vigilance feed when one is set, the devices'
silence rules, and in the demo its synthetic devices' readings (docs/watch-demo.md)."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from proactif.kernel.scheduler import periodic
from proactif.watch import services


@periodic(every=timedelta(days=1), at=time(8, 30))
def daily_rounds() -> dict[str, int]:
    """Today's contacts of every plan in campaign: their SMS leave when the watch's hours open."""
    return services.run_due_rounds()


@periodic(every=timedelta(days=1), at=time(5, 0))
def reconcile() -> dict[str, int]:
    """Entries of persons who moved out or died are removed; quartiers follow moves."""
    return services.reconcile()


@periodic(every=timedelta(hours=1))
def vigilance_feed() -> dict[str, Any]:
    """The Météo-France vigilance (PROACTIF_VIGILANCE_URL), applied like an imported file."""
    return services.fetch_vigilance()


@periodic(every=timedelta(minutes=5))
def device_silence() -> dict[str, int]:
    """Devices that stopped reporting, persons not up at their usual time or without movement for hours."""
    from proactif.watch import _alerts as alerts

    return alerts.tick()


@periodic(every=timedelta(minutes=1))
def demo_devices() -> dict[str, Any]:
    """The demo's synthetic home devices send the slots whose time has come (PROACTIF_DEMO_DEVICES; off by
    default: nothing happens in production or in tests unless asked)."""
    from proactif.watch import demo_devices as live

    return live.step()
