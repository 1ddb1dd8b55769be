"""Per-service rate limits shared by every worker: a counter per (service, channel, second) in the
database, reserved for a whole batch in one conditional UPDATE per group.

Urgent messages that find this second full reserve the next seconds with room (up to `AHEAD_SECONDS`
ahead), in order: each holds its slot, wakes when it opens and goes without reserving again — an alert
flows at the limit instead of trying again at every sweep. Other lanes only take what this second has left
(they never hold seconds an alert would need)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

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


AHEAD_SECONDS = 600


class Grant:
    """The seconds granted to a batch, per (service, channel): this one first, then later ones (urgent)."""

    def __init__(self, slots: dict[tuple[str, str], list[tuple[datetime, int]]]):
        self.left = {key: [list(slot) for slot in value if slot[1] > 0] for key, value in slots.items()}

    def slot(self, service: str, channel: str) -> datetime | None:
        """The second of the next message of this group, or None when nothing more was granted."""
        slots = self.left.get((service, channel))
        if not slots:
            return None
        second, count = slots[0]
        if count <= 1:
            slots.pop(0)
        else:
            slots[0][1] = count - 1
        return second  # type: ignore[no-any-return]

    def take(self, service: str, channel: str) -> bool:
        return self.slot(service, channel) is not None


def reserve_all(wanted: list[tuple[str, str]], now: datetime, ahead: bool = False) -> Grant:
    """Slots for these messages in this second; with `ahead`, the rest in the next seconds with room."""
    window = now.replace(microsecond=0)
    caps = limits()
    granted: dict[tuple[str, str], list[tuple[datetime, int]]] = {}
    for (service, channel), count in Counter(wanted).items():
        cap = caps.get(channel)
        if cap is None:
            granted[(service, channel)] = [(window, count)]
            continue
        take = _reserve(service, channel, window, count, cap)
        granted[(service, channel)] = [(window, take)]
        if ahead and take < count:
            granted[(service, channel)] += _reserve_ahead(service, channel, window, count - take, cap)
    return Grant(granted)


def _reserve_ahead(service: str, channel: str, window: datetime, wanted: int, cap: int) -> list[tuple[datetime, int]]:
    """`wanted` slots in the seconds after `window` that have room, earliest first (full ones read once)."""
    horizon = window + timedelta(seconds=AHEAD_SECONDS)
    used = dict(RateWindow.objects.filter(service=service, channel=channel, window__gt=window,
                                          window__lte=horizon).values_list("window", "count"))
    slots = []
    moment = window
    while wanted > 0 and moment < horizon:
        moment += timedelta(seconds=1)
        if used.get(moment, 0) >= cap:
            continue
        take = _reserve(service, channel, moment, wanted, cap)
        if take:
            slots.append((moment, take))
            wanted -= take
    return slots


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
