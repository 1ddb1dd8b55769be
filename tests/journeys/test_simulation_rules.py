"""Thirty simulated days of the seeded commune — journeys entering, residents clicking and booking, messages
going through the real sinks: every non-urgent message respected quiet hours and the frequency caps."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from proactif.kernel import clock, simulation
from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_thirty_days_of_journeys_keep_quiet_hours_and_caps(sinks, settings) -> None:
    try:
        figures = simulation.simulate(clock.today() + timedelta(days=30), on_step=sinks.pump)
    finally:
        simulation.reset_offset()
    assert figures["days"] == 31
    sent = list(OutboxMessage.objects.exclude(sent_at=None).exclude(lane="urgent").values_list(
        "person_id", "channel", "sent_at"))
    assert len(sent) > 100, figures
    quiet = outbox.quiet_hours()
    # Letters are printed and posted by the print shop: the hour they are produced is not a disturbance
    outside = [(p, c, t) for p, c, t in sent if c != "letter" and not quiet.allows(t)]
    assert outside == []
    by_person: dict[int, list] = defaultdict(list)
    for person_id, _, sent_at in sent:
        by_person[person_id].append(sent_at)
    over = []
    for person_id, moments in by_person.items():
        moments.sort()
        for index, moment in enumerate(moments):
            day = sum(1 for m in moments[: index + 1] if m > moment - timedelta(days=1))
            week = sum(1 for m in moments[: index + 1] if m > moment - timedelta(days=7))
            if day > settings.CAP_PER_DAY or week > settings.CAP_PER_WEEK:
                over.append((person_id, moment, day, week))
    assert over == []
    deferred = OutboxMessage.objects.filter(status="created").count()
    print(f"\n{len(sent)} non-urgent messages to {len(by_person)} residents in 30 days, none in quiet hours or over "
          f"the caps; {deferred} still waiting for their time")
