"""The database goes away while messages are being sent.

1. The write of the outcomes fails after the provider calls: the outcomes are kept and written when the
   database answers again — nothing is sent twice.
2. A database error before any call: the claims are released as soon as the database answers, and the
   messages go at once instead of at the end of their lease.
3. A thread whose connection the database dropped (a PostgreSQL restart) carries on on a new one.
4. (PostgreSQL, Celery workers on RabbitMQ) a TCP proxy in front of PostgreSQL is closed for 10 s in the middle
   of an alert's campaign, with provider calls in flight, then reopened: per channel nothing lost, nothing
   twice, and the urgent lane moving again within seconds of the reopening.

Tests 1–2 run on SQLite and on PostgreSQL (their own session: they commit)."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.models import Count

from proactif.messaging import _outbox as outbox
from proactif.messaging import _sending as sending
from proactif.messaging.models import OutboxMessage
from tests.conftest import require, service_up
from tests.reliability.test_kill_in_flight import Arrivals, messages_on_each_channel
from tests.sinks import fault
from tests.workers import end_other_sessions, kill9, log_tail, start, wait_for, worker_env

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
BROKER = os.environ.get("PROACTIF_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(autouse=True)
def any_hour(settings: Any) -> None:
    """The sending rules of the workers' environment (tests.workers.worker_env), in this process too."""
    settings.QUIET_HOURS, settings.QUIET_SUNDAYS, settings.QUIET_HOLIDAYS = "00:00-23:59", True, True
    settings.CAP_PER_DAY = settings.CAP_PER_WEEK = 1000
    settings.RATE_LIMITS = "sms=100000,email=100000,push=100000,letter=100000"


def failing(times: int, work: Any) -> Any:
    """`work`, failing with a database error the first `times` calls (the database away meanwhile)."""
    calls = Counter[str]()

    def run(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError("server closed the connection unexpectedly")
        return work(*args, **kwargs)

    run.calls = calls  # type: ignore[attr-defined]
    return run


def test_a_failed_write_of_the_outcomes_is_retried_and_nothing_is_sent_twice(sinks, monkeypatch) -> None:
    keys = messages_on_each_channel()
    arrivals = Arrivals(sinks)
    ids = list(OutboxMessage.objects.values_list("id", flat=True))
    monkeypatch.setattr(sending, "_write_sent", failing(3, sending._write_sent))
    figures = sending.send_batch(ids)
    assert sending._write_sent.calls["n"] > 3  # type: ignore[attr-defined]
    assert figures.get("send", 0) == len(ids), figures
    assert not OutboxMessage.objects.exclude(status="sent").exists()
    sinks.drain()
    for channel_keys in keys.values():
        assert arrivals.figures(channel_keys)["lost"] == 0
    assert all(sum(providers.values()) == 1 for providers in arrivals.by_key.values())  # each sent once


def test_a_database_error_before_the_calls_releases_the_claims_at_once(sinks, monkeypatch, settings) -> None:
    messages_on_each_channel()
    settings.SEND_LEASE_SECONDS = 300
    ids = list(OutboxMessage.objects.values_list("id", flat=True)[:40])
    monkeypatch.setattr(sending, "_choose_providers", failing(2, sending._choose_providers))
    started = time.monotonic()
    sending.send_batch(ids)
    assert time.monotonic() - started < 30  # seconds, not the 300 s lease
    rows = OutboxMessage.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    assert set(rows.values_list("attempts", flat=True)) == {1}  # the released claims do not count as attempts


@pytest.mark.postgres  # a dropped connection is a PostgreSQL server's act (the PostgreSQL session runs it)
def test_a_thread_whose_connection_the_database_dropped_goes_on_with_a_new_one() -> None:
    from proactif.kernel import database

    outcome: dict[str, Any] = {}
    ready, dropped = threading.Event(), threading.Event()

    def receipts_thread() -> None:
        count = database.retrying(lambda: OutboxMessage.objects.count(), 30, "test")
        try:
            count()
            outcome["pid"] = connection.connection.info.backend_pid
            ready.set()
            dropped.wait(10)
            outcome["after"] = count()  # the first query fails on the dropped connection, then a new one
            outcome["new_pid"] = connection.connection.info.backend_pid
        except Exception as exc:  # pragma: no cover (reported below)
            outcome["error"] = exc
        finally:
            ready.set()
            connection.close()

    thread = threading.Thread(target=receipts_thread)
    thread.start()
    assert ready.wait(10) and "pid" in outcome, outcome
    with connection.cursor() as cursor:  # what a restart does to every connection
        cursor.execute("SELECT pg_terminate_backend(%s)", [outcome["pid"]])
    dropped.set()
    thread.join(30)
    assert "error" not in outcome and outcome["after"] == OutboxMessage.objects.count(), outcome
    assert outcome["new_pid"] != outcome["pid"]


# --- the database cut mid-campaign (PostgreSQL, Celery) ---------------------------------------------------
class TcpProxy:
    """127.0.0.1:<port> → the database, that the test can close (new connections refused, open ones reset:
    what a database stopping does to its clients) and open again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for side in pair:
                with contextlib.suppress(OSError):
                    side.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    side.close()  # a reset, not a polite end

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for side in (source, sink):
                with contextlib.suppress(OSError):
                    side.close()


@pytest.mark.postgres  # a TCP proxy in front of PostgreSQL (the PostgreSQL session runs it)
def test_the_database_cut_for_10_s_mid_campaign_loses_nothing_doubles_nothing_and_the_urgent_lane_resumes(
        sinks, settings, tmp_path) -> None:
    require(service_up("127.0.0.1", 5672), "RabbitMQ is not running on 127.0.0.1:5672")
    from proactif.kernel import celery_app, executor
    from tests.workers import database_url

    keys = messages_on_each_channel(per_channel=500, lane="urgent")
    ids = list(OutboxMessage.objects.values_list("id", flat=True))
    arrivals = Arrivals(sinks)
    for provider in ("sms-a", "sms-b"):
        fault(sinks, provider, delay=0.15, count=100_000)  # calls last a while: some are in flight at the cut
    sinks.smtp.delay_answers(0.15, count=100_000)
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    settings.BROKER_URL, settings.QUEUE_PREFIX = BROKER, prefix
    celery_app.reset()
    env = worker_env(tmp_path, sinks, PROACTIF_BROKER_URL=BROKER, PROACTIF_QUEUE_PREFIX=prefix,
                     DATABASE_URL=database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/"),
                     PROACTIF_SEND_LEASE_SECONDS="120")  # recovery must not wait for a lease to end
    worker = start(["worker", "--queues", "urgent", "--concurrency", "2", "--hostname", f"{prefix}w@%h"], env)
    executor.set_backend(executor.CeleryBackend())
    try:
        outbox.dispatch(ids)  # tasks of 100 ids on the urgent lane; no sweeper runs in this test
        assert wait_for(lambda: len(arrivals) >= 150 or worker.poll() is not None, 60), log_tail(env)
        proxy.close()
        cut_at, at_cut = time.monotonic(), len(arrivals)
        time.sleep(10)
        during = len(arrivals) - at_cut  # calls already under way when the database went
        sent_before = OutboxMessage.objects.filter(status__in=("sent", "delivered")).count()
        proxy.open()
        reopened, at_reopen = time.monotonic(), len(arrivals)
        assert wait_for(lambda: len(arrivals) > at_reopen or worker.poll() is not None, 60), log_tail(env)
        moving = time.monotonic() - reopened
        assert wait_for(lambda: OutboxMessage.objects.filter(status__in=("sent", "delivered")).count() > sent_before,
                        60, every=0.05)
        written = time.monotonic() - reopened
        assert wait_for(lambda: not OutboxMessage.objects.exclude(status__in=("sent", "delivered")).exists()
                        or worker.poll() is not None, 120, every=0.5), Counter(
            OutboxMessage.objects.values_list("status", flat=True))
        finished = time.monotonic() - reopened
    finally:
        kill9(worker)
        executor.set_backend(None)
        celery_app.reset()
        proxy.close()
        end_other_sessions()
    sinks.drain()
    statuses = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    report = {channel: arrivals.figures(channel_keys) for channel, channel_keys in keys.items()}
    print(f"\ndatabase cut 10 s after {at_cut} messages at the sinks ({during} more arrived from calls under way); "
          f"after the reopening: new messages at the sinks in {moving:.1f} s, outcomes written in {written:.1f} s, "
          f"all {len(ids)} done in {finished:.1f} s; {report}; statuses {statuses}")
    assert set(statuses) <= {"sent", "delivered"} and sum(statuses.values()) == len(ids), statuses
    for channel, figures in report.items():
        assert figures["lost"] == 0 and figures["duplicates"] == 0, (channel, figures)
    assert moving < 30 and written < 30
    assert cut_at < reopened
