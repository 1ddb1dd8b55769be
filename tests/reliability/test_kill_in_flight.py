"""kill -9 of the sending process while provider calls are in flight — the sinks hold every answer for a
moment, as a slow gateway or relay would — then a restart. Per channel, every message reaches a provider
(0 lost) and none reaches two providers nor arrives twice under two keys (0 duplicates): an SMS whose call
was in flight goes again to the provider that had it, with its key, which delivers it once; an e-mail whose
call was in flight goes once more with its Message-ID — a possible duplicate, counted. Runs on SQLite and on
PostgreSQL (its own session: it commits)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.db.models import Count

from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage
from tests.sinks import fault
from tests.workers import campaign_commune, kill9, log_tail, start, wait_for, worker_env

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
PER_CHANNEL = 80
HOLD = 1.5  # seconds each provider keeps its answer (the sender's SMS timeout is 5 s: an answer, late)


def messages_on_each_channel(per_channel: int = PER_CHANNEL, lane: str = "transactional") -> dict[str, list[str]]:
    """A fresh commune and `per_channel` messages on each of SMS and e-mail (one channel each, no fallback)."""
    reach = campaign_commune(400)
    keys: dict[str, list[str]] = {"sms": [], "email": []}
    people = {}
    for channel in keys:
        people[channel] = sorted(p for p, r in reach.items() if channel in r.allowed and r.addresses.get(channel))
        assert len(people[channel]) >= 20, (channel, len(people[channel]))
    specs = []
    for n in range(per_channel):  # alternately: both channels have calls in flight at any moment
        for channel in keys:
            keys[channel].append(f"vol-{channel}:{n}")
            specs.append(outbox.MessageSpec(keys[channel][-1], people[channel][n % len(people[channel])],
                                            "campagne.test", "rappels_echeances", "communication",
                                            lane=lane, policy=[channel], trigger="campagne",
                                            step=keys[channel][-1]))
    outbox.persist(specs)
    return keys


class Arrivals:
    """What the sinks received: per idempotency key, the providers and how many times each."""

    def __init__(self, sinks: Any):
        self.by_key: dict[str, Counter[str]] = defaultdict(Counter)
        sinks.store.listen(lambda item: self.by_key[item.key].update([item.provider]))

    def __len__(self) -> int:
        return len(self.by_key)

    def figures(self, keys: list[str]) -> dict[str, int]:
        """sent (reached a provider), lost (reached none), duplicates (reached two providers), possible
        duplicates (reached one provider that does not deduplicate twice), resubmissions (the same key again
        to a provider that delivers it once)."""
        got = [self.by_key.get(key, Counter()) for key in keys]
        twice = [c for c in got if len(c) == 1 and sum(c.values()) > 1]
        return {"messages": len(keys), "sent": sum(1 for c in got if c), "lost": sum(1 for c in got if not c),
                "duplicates": sum(1 for c in got if len(c) > 1),
                "possible_duplicates": sum(1 for c in twice if "smtp" in c),
                "resubmissions_same_key": sum(1 for c in twice if "smtp" not in c)}


def test_kill_9_with_provider_calls_in_flight_loses_nothing_and_sends_nothing_twice(sinks, tmp_path) -> None:
    keys = messages_on_each_channel()
    arrivals = Arrivals(sinks)
    for provider in ("sms-a", "sms-b"):
        fault(sinks, provider, delay=HOLD, count=10_000)  # the gateway keeps each SMS, then answers late
    sinks.smtp.delay_answers(HOLD, count=10_000)  # the relay keeps each e-mail, then answers late
    env = worker_env(tmp_path, sinks)
    first = start(["messages", "send", "--json"], env)
    # 8 calls at a time, each held HOLD seconds: killed in the third wave, eight calls in flight
    assert wait_for(lambda: len(arrivals) >= 16 or first.poll() is not None, 60), log_tail(env)
    time.sleep(HOLD / 3)
    kill9(first)
    at_kill = len(arrivals)
    in_flight = OutboxMessage.objects.filter(status="sending").count()
    assert at_kill < 2 * PER_CHANNEL, "everything was sent before the kill: nothing was tested"
    for provider in ("sms-a", "sms-b"):
        fault(sinks, provider, count=0)
    sinks.smtp.delay_answers(0, count=0)
    time.sleep(HOLD + 0.5)  # the calls in flight at the kill reach the providers (their answers go nowhere)

    second = start(["messages", "send", "--json"], env)
    second.wait(120)
    assert second.returncode == 0, log_tail(env)
    sinks.drain()

    statuses = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    assert set(statuses) <= {"sent", "delivered"} and sum(statuses.values()) == 2 * PER_CHANNEL, statuses
    resent = dict(OutboxMessage.objects.filter(unknown_retries__gt=0).values_list("channel").annotate(
        n=Count("id")).values_list("channel", "n"))
    report = {channel: arrivals.figures(channel_keys) for channel, channel_keys in keys.items()}
    print(f"\nkill -9 with calls in flight ({at_kill} messages at the sinks, {in_flight} claimed and unfinished): "
          f"{report}; sent again under doubt (same provider, same key): {resent}")
    for channel, figures in report.items():
        assert figures["lost"] == 0 and figures["duplicates"] == 0, (channel, figures)
    assert report["sms"]["possible_duplicates"] == 0
    # at most the calls in flight (8 threads) and those answered since the batch's last write (every 0.5 s)
    assert report["email"]["possible_duplicates"] <= 16
    assert report["sms"]["resubmissions_same_key"] + report["email"]["possible_duplicates"] >= 1, (
        "no call was in flight at the kill: nothing was tested")
    # every SMS went to one provider, the one written on its row
    for key, provider in OutboxMessage.objects.filter(channel="sms").values_list("idempotency_key", "provider"):
        assert set(arrivals.by_key[key]) == {provider}, (key, arrivals.by_key[key], provider)
