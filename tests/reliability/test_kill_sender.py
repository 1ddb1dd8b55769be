"""kill -9 of the process sending a 2,000-message campaign, then a restart: every message reaches the sinks,
counted by idempotency key, and only the batch in flight at the kill is submitted again — with the same key,
which the provider uses to deliver it once. Runs on SQLite and on PostgreSQL (its own session: it commits)."""

from __future__ import annotations

import pytest
from django.db.models import Count

from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage
from tests.workers import SinkCount, campaign_commune, kill9, log_tail, start, wait_for, worker_env

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
CAMPAIGN = 2000
BATCH = 500  # what `proactif messages send` claims at once


def campaign(size: int = CAMPAIGN, lane: str = "bulk") -> list[str]:
    """A fresh commune and `size` messages to the residents reachable by e-mail or SMS."""
    reach = campaign_commune(600)
    people = sorted(p for p, r in reach.items() if any(c in r.allowed and r.addresses.get(c) for c in ("sms", "email")))
    assert len(people) >= 100, len(people)
    specs = [outbox.MessageSpec(f"campagne-test:{n}", people[n % len(people)], "campagne.test", "rappels_echeances",
                                "communication", lane=lane, policy=["sms", "email"], trigger="campagne", step=str(n))
             for n in range(size)]
    return list(outbox.persist(specs))


def test_kill_9_of_the_sending_process_then_restart_sends_each_message_once(sinks, tmp_path) -> None:
    keys = campaign()
    count = SinkCount(sinks)
    env = worker_env(tmp_path, sinks)
    first = start(["messages", "send", "--json"], env)
    assert wait_for(lambda: count.keys >= CAMPAIGN // 4 or first.poll() is not None), "nothing reached the sinks"
    kill9(first)
    at_kill = count.keys
    assert at_kill < CAMPAIGN, "the campaign finished before the kill: nothing was tested"
    in_flight = OutboxMessage.objects.filter(status="sending").count()

    second = start(["messages", "send", "--json"], env)
    second.wait(240)
    assert second.returncode == 0, log_tail(env)

    statuses = dict(OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("status").annotate(
        n=Count("id")).values_list("status", "n"))
    assert statuses == {"sent": CAMPAIGN}, statuses
    assert set(count.submissions) == set(keys)  # every message reached a sink
    assert count.keys == CAMPAIGN
    assert count.duplicates <= BATCH  # only the batch in flight at the kill went again, same key
    print(f"\nkill -9 after {at_kill} messages, {in_flight} in flight; after restart {count.keys} distinct keys at "
          f"the sinks for {CAMPAIGN} messages, {count.duplicates} re-submissions with the same key")
