"""Celery workers on RabbitMQ with PostgreSQL: kill -9 of the worker during a 2,000-message campaign, and
the same journey scenario giving the same outcome with the embedded executor and with Celery workers."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from proactif.kernel import clock, executor, simulation
from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage
from tests.conftest import require, service_up
from tests.reliability.test_kill_sender import CAMPAIGN, campaign
from tests.workers import SinkCount, kill9, log_tail, start, wait_for, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
BROKER = os.environ.get("PROACTIF_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture
def celery_workers(settings, sinks, tmp_path):
    """Start Celery workers on this test's queues (a fresh prefix), database and sinks; all killed at the end."""
    require(connection.vendor == "postgresql", "Celery integration tests run on PostgreSQL (DATABASE_URL)")
    require(service_up("127.0.0.1", 5672), "RabbitMQ is not running on 127.0.0.1:5672")
    from proactif.kernel import celery_app

    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    settings.BROKER_URL, settings.QUEUE_PREFIX = BROKER, prefix
    settings.SEND_LEASE_SECONDS = 3
    celery_app.reset()
    env = worker_env(tmp_path, sinks, PROACTIF_BROKER_URL=BROKER, PROACTIF_QUEUE_PREFIX=prefix)
    started = []

    def spawn(name: str = "w1", concurrency: int = 1):
        worker = start(["worker", "--concurrency", str(concurrency), "--hostname", f"{prefix}{name}@%h"], env)
        started.append(worker)
        return worker

    spawn.env = env  # type: ignore[attr-defined]
    executor.set_backend(executor.CeleryBackend())
    yield spawn
    executor.set_backend(None)
    for worker in started:
        kill9(worker)
    celery_app.reset()


def test_kill_9_of_a_celery_worker_mid_campaign_loses_and_doubles_nothing(celery_workers, sinks) -> None:
    keys = campaign()
    count = SinkCount(sinks)
    ids = list(OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("id", flat=True))
    first = celery_workers("w1")
    outbox.dispatch(ids)  # 20 tasks of 100 ids on the bulk lane
    assert wait_for(lambda: count.keys >= CAMPAIGN // 4 or first.poll() is not None, 120), log_tail(celery_workers.env)
    kill9(first)
    at_kill = count.keys
    assert at_kill < CAMPAIGN, "the campaign finished before the kill: nothing was tested"

    celery_workers("w2")  # RabbitMQ redelivers the unacknowledged task; the sweeper returns expired leases

    def finished() -> bool:
        outbox.sweep()
        return not OutboxMessage.objects.filter(idempotency_key__in=keys).exclude(status="sent").exists()

    assert wait_for(finished, 180, every=1.0), Counter(
        OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("status", flat=True))
    assert wait_for(lambda: count.keys == CAMPAIGN, 10)
    assert set(count.submissions) == set(keys) and count.duplicates <= 100  # at most the task in flight
    print(f"\nCelery: kill -9 after {at_kill} messages; {count.keys} distinct keys at the sinks for {CAMPAIGN}, "
          f"{count.duplicates} re-submissions with the same key")


# --- the same scenario, embedded and on Celery ---------------------------------------------------
def scenario(sinks: Any, wait: Any) -> dict[str, Any]:
    """A commune, passports entering the renewal journey, some citizens opening their link on day 5; the
    clock moves to the moments where work is due and the executor does it. Returns where everyone ended."""
    from proactif.journeys import services as journeys
    from proactif.journeys.models import JourneyInstance
    from proactif.kernel.install import install
    from proactif.synth import services as synth

    synth.seed(1500, 5, reset=True, parallel=False)
    OutboxMessage.objects.all().delete()
    install()
    start_at = clock.local_datetime(clock.today() + timedelta(days=1), 10, 30)

    def settle(task: str, done: Any) -> None:
        """Run `task` on the executor, again every two seconds (as the scheduler would), until `done`."""
        last = 0.0

        def check() -> bool:
            nonlocal last
            if time.monotonic() - last > 2:
                executor.enqueue(task)
                last = time.monotonic()
            return bool(done())

        wait(check)

    def at(moment: datetime) -> None:
        simulation.set_offset_to(moment)
        clock.system_clock().forget()
        time.sleep(1.2)  # workers cache the simulated clock's offset for one second
        settle("journeys.enter", lambda: JourneyInstance.objects.exists())
        settle("journeys.advance", lambda: not JourneyInstance.objects.filter(
            status="active", next_wake_at__lte=clock.now()).exists())
        settle("messaging.sweep", lambda: not OutboxMessage.objects.filter(status="sending").exists() and not (
            OutboxMessage.objects.filter(status="created", not_before__lte=clock.now()).exists()))
        sinks.pump()

    try:
        at(start_at)
        entered = JourneyInstance.objects.count()
        assert entered > 0
        # who clicks: a third of those who entered on the first day, chosen by id — not by their rank among the
        # active instances, which a day-5 entry still being written would shift
        clicking = [p for p in JourneyInstance.objects.values_list("person_id", flat=True) if p % 3 == 0]
        at(start_at + timedelta(days=5))
        for instance in JourneyInstance.objects.filter(status="active", person_id__in=clicking):
            journeys.signal("link_clicked", instance.person_id, instance_id=instance.pk)
        at(start_at + timedelta(days=8))
        at(start_at + timedelta(days=17))
        at(start_at + timedelta(days=25))
    finally:
        simulation.reset_offset()
    people = {p: (node, status) for p, node, status in JourneyInstance.objects.values_list("person_id", "node",
                                                                                          "status")}
    messages = Counter(OutboxMessage.objects.values_list("person_id", "template_key", "channel", "status"))
    return {"entered": entered, "people": people, "messages": messages}


def test_the_same_scenario_gives_the_same_outcome_embedded_and_on_celery(settings, sinks, celery_workers) -> None:
    def wait(condition: Any) -> None:
        pending = OutboxMessage.objects.exclude(status__in=("sent", "delivered", "cancelled", "failed"))
        assert wait_for(condition, 120, every=0.2), (
            f"the executor did not finish at {clock.now()}: "
            f"{list(pending.values_list('status', 'not_before', 'queued_at', 'lease_until')[:5])}\n"
            f"{log_tail(celery_workers.env)}")

    # The same sending rules as the workers' environment (tests.workers.worker_env)
    settings.QUIET_HOURS, settings.QUIET_SUNDAYS, settings.QUIET_HOLIDAYS = "00:00-23:59", True, True
    settings.CAP_PER_DAY = settings.CAP_PER_WEEK = 1000
    settings.RATE_LIMITS = "sms=100000,email=100000,push=100000,letter=100000"
    executor.set_backend(executor.EmbeddedBackend(2))
    embedded = scenario(sinks, wait)
    executor.set_backend(executor.CeleryBackend())
    celery_workers("w1", concurrency=2)
    distributed = scenario(sinks, wait)
    assert embedded["entered"] == distributed["entered"]
    assert embedded["people"] == distributed["people"]
    assert embedded["messages"] == distributed["messages"]
    print(f"\n{embedded['entered']} instances, {sum(embedded['messages'].values())} messages: identical outcomes")
