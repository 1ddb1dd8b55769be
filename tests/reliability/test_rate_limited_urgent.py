"""Urgent messages held by a per-service rate limit advance as their slots open: the executor's workers
(4 threads, as `proactif demo` runs them) send an alert's SMS at the limit, and the scheduler's sweeper
(every 30 s) has nothing to pick up. `PROACTIF_RATE_TEST_MESSAGES` and `PROACTIF_RATE_TEST_LIMIT` change the
size (the figures of docs/operations.md: 1,000 SMS at 30/s). Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import time

import pytest
from django.db.models import Count

from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage
from tests.workers import SinkCount, end_other_sessions, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
MESSAGES = int(os.environ.get("PROACTIF_RATE_TEST_MESSAGES", "300"))
LIMIT = int(os.environ.get("PROACTIF_RATE_TEST_LIMIT", "30"))


def urgent_sms(size: int) -> list[int]:
    """A fresh commune and `size` urgent SMS, spread over the residents reachable by SMS."""
    from proactif.kernel.install import install
    from proactif.messaging import services as messaging
    from proactif.registry import services as registry
    from proactif.registry.models import Person
    from proactif.synth import services as synth

    synth.seed(400, 3, reset=True, parallel=False)
    install()
    messaging.save_template("alerte.test", "sms", "Coupure d'eau rue des Lilas jusqu'à 18 h.", publish=True)
    ids = list(Person.objects.filter(status="active").values_list("id", flat=True))
    reach = registry.reachable(ids, "rappels_echeances")
    people = sorted(p for p, r in reach.items() if "sms" in r.allowed and r.addresses.get("sms"))
    assert len(people) >= 50, len(people)
    specs = [outbox.MessageSpec(f"alerte-test:{n}", people[n % len(people)], "alerte.test", "rappels_echeances",
                                "police_municipale", lane="urgent", policy=["sms"], trigger="alerte:test",
                                step=str(n)) for n in range(size)]
    return list(outbox.persist(specs).values())


def test_rate_limited_urgent_sms_go_out_at_the_limit_not_at_the_sweeps(sinks, settings) -> None:
    from proactif.kernel import executor
    from proactif.kernel.runner import SchedulerLoop

    settings.QUIET_HOURS, settings.QUIET_SUNDAYS, settings.QUIET_HOLIDAYS = "00:00-23:59", True, True
    settings.RATE_LIMITS = f"sms={LIMIT},email=100000,push=100000,letter=100000"
    ids = urgent_sms(MESSAGES)
    count = SinkCount(sinks)
    backend = executor.EmbeddedBackend(4)
    executor.set_backend(backend)
    scheduler = SchedulerLoop(15).start()  # the sweeper runs as in production, every 30 s
    try:
        started = time.monotonic()
        outbox.dispatch(ids)
        done = wait_for(lambda: not OutboxMessage.objects.filter(pk__in=ids, status__in=("created", "sending"))
                        .exists(), seconds=max(180, 8 * MESSAGES / LIMIT), every=0.2)
        elapsed = time.monotonic() - started
        backend.wait_idle(30)
    finally:
        scheduler.stop()
        executor.set_backend(None)
        end_other_sessions()  # the executor's threads keep their connections
    statuses = dict(OutboxMessage.objects.filter(pk__in=ids).values_list("status").annotate(n=Count("id"))
                    .values_list("status", "n"))
    ideal = MESSAGES / LIMIT
    print(f"\n{MESSAGES} urgent SMS at {LIMIT}/s: all sent in {elapsed:.1f} s (the limit allows {ideal:.1f} s); "
          f"{count.keys} at the sink, {count.duplicates} re-submissions; statuses {statuses}")
    assert done and statuses == {"sent": MESSAGES}, statuses
    assert count.keys == MESSAGES and count.duplicates == 0
    # At the limit, not in the sweeper's 30 s steps: the messages sent at their first attempt went out within a
    # few seconds of the ideal. A provider call that failed on a loaded machine (a connect timeout to the sink)
    # waits out its backoff like any failure: it is left out of the pace, not out of the counts above.
    first = sorted(OutboxMessage.objects.filter(pk__in=ids, attempts=1).values_list("sent_at", flat=True))
    assert len(first) >= MESSAGES * 0.9, f"only {len(first)} sent at their first attempt"
    pace = (first[-1] - first[0]).total_seconds()
    assert pace < len(first) / LIMIT + max(10.0, ideal * 0.3), f"{pace:.1f} s for {len(first)} at {LIMIT}/s"
