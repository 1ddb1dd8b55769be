"""Engagement: what citizens do after a message (click, reply, booking). E-mail opens are not counted:
mail clients prefetch images, so an "open" says little and would bias the best-time model."""

from __future__ import annotations

from datetime import datetime

from proactif.kernel import clock
from proactif.messaging.models import Engagement


def hour_of_week(moment: datetime) -> int:
    local = moment.astimezone(clock.local_tz())
    return local.weekday() * 24 + local.hour


def record(person_id: int, kind: str, channel: str, at: datetime | None = None, message_key: str = "",
           instance_id: int | None = None) -> Engagement:
    at = at or clock.now()
    return Engagement.objects.create(person_id=person_id, kind=kind, channel=channel, at=at,
                                     hour_of_week=hour_of_week(at), message_key=message_key[:200],
                                     instance_id=instance_id)
