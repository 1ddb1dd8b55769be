"""Per-service rate limits shared by every worker: a counter per (service, channel, second) in the
database, reserved for a whole batch in one conditional UPDATE per group."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F

from proactif.messaging.models import RateWindow


def limits() -> dict[str, int]:
    from django.conf import settings

    out = {}
    for item in settings.RATE_LIMITS.split(","):
        if item.strip():
            channel, _, value = item.partition("=")
            out[channel.strip()] = int(value)
    return out


class Grant:
    def __init__(self, granted: dict[tuple[str, str], int]):
        self.left = dict(granted)

    def take(self, service: str, channel: str) -> bool:
        key = (service, channel)
        if self.left.get(key, 0) <= 0:
            return False
        self.left[key] -= 1
        return True


def reserve_all(wanted: list[tuple[str, str]], now: datetime) -> Grant:
    window = now.replace(microsecond=0)
    caps = limits()
    granted = {}
    for (service, channel), count in Counter(wanted).items():
        cap = caps.get(channel)
        granted[(service, channel)] = count if cap is None else _reserve(service, channel, window, count, cap)
    return Grant(granted)


def _reserve(service: str, channel: str, window: datetime, wanted: int, cap: int) -> int:
    for _ in range(3):
        try:
            with transaction.atomic():
                row = RateWindow.objects.select_for_update().filter(service=service, channel=channel,
                                                                    window=window).first()
                if row is None:
                    take = min(wanted, cap)
                    RateWindow.objects.create(service=service, channel=channel, window=window, count=take)
                    return take
                take = max(0, min(wanted, cap - row.count))
                if take:
                    RateWindow.objects.filter(pk=row.pk).update(count=F("count") + take)
                return take
        except IntegrityError:  # another worker created the window first: read it again
            continue
    return 0


def forget_before(moment: datetime) -> int:
    deleted, _ = RateWindow.objects.filter(window__lt=moment).delete()
    return deleted
