"""kill -9 of the device ingester (issue 18 §4), twice, while home devices publish: nothing lost, nothing counted twice.

A private Mosquitto (persistence on); 150 devices lent to 150 persons publish 3,000 messages of six readings each at
QoS 1 over six connections, paced so that publishing lasts about fifteen seconds. `proactif watch ingest` runs in a
process of its own on the test's database and is killed with SIGKILL twice while the messages arrive (once some are
stored), restarted each time with the same client id: the broker keeps its session and delivers again what it had
not acknowledged — messages it had not committed, and any it had committed but not yet acknowledged. At the end every
message's six readings are stored once, the hourly aggregates count each reading once (a redelivered message feeds
them nothing: the real check), every person has one rule state, and nothing went to the dead-letter list.

Runs on SQLite and on PostgreSQL (its own session: it commits)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count, Sum

from proactif.bench.telemetry import NORMAL, payload, private_broker
from proactif.kernel import clock
from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import DeadLetter, Device, HourlyAggregate, Observation, RuleState
from tests.conftest import require
from tests.workers import end_other_sessions, kill9, log_tail, wait_for, worker_env

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
MESSAGES = 3000
DEVICES = 150
CONNECTIONS = 6
PER_SECOND = 200  # all connections together: publishing lasts ~15 s, long enough for two kills and restarts
READINGS = len(NORMAL)  # six a message
PERSON_BASE = 9_200_000_000
CLIENT_ID = "proactif-ingester-kill-test"


class AckHolder:
    """A TCP relay between the ingester and the broker. `hold()` stops passing what the ingester sends — its
    acknowledgements — while the broker's messages still reach it and are committed; `cut()` closes every
    connection, dropping what was held. A kill -9 between the two is the worst moment: messages committed and never
    acknowledged, which the broker must deliver again (without the relay that window lasts microseconds)."""

    def __init__(self, broker_port: int):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.broker_port = broker_port
        self.holding = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                inside, _ = self.server.accept()
            except OSError:
                return
            outside = socket.create_connection(("127.0.0.1", self.broker_port))
            self.holding.clear()
            self.sockets += [inside, outside]
            threading.Thread(target=self._pump, args=(inside, outside, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(outside, inside, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (upstream and self.holding.is_set()):
                    target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with suppress(OSError):
                sock.close()

    def hold(self) -> None:
        self.holding.set()

    def cut(self) -> None:
        for sock in self.sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.sockets = []

    def close(self) -> None:
        self.cut()
        self.server.close()


def ingester(env: dict[str, str], port: int, run: int) -> subprocess.Popen[str]:
    """`proactif watch ingest` in a process (and session) of its own; its final counts go to ingester-<run>.out."""
    home = Path(env["PROACTIF_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    with (home / f"ingester-{run}.out").open("w") as out, (home / "worker.log").open("a") as log:
        return subprocess.Popen([sys.executable, "-m", "proactif.cli", "watch", "ingest", "--url",
                                 f"mqtt://127.0.0.1:{port}", "--client-id", CLIENT_ID], env=env, stdout=out,
                                stderr=log, text=True, start_new_session=True)


class Publisher:
    """The devices: message i is device i mod D's (i div D)-th reading time, 15 minutes apart; device d always on
    connection d mod C (its messages in order), QoS 1, each PUBACK awaited at the end."""

    def __init__(self, port: int):
        start = clock.now().replace(microsecond=0) - timedelta(minutes=15 * (MESSAGES // DEVICES + 2))
        self.work: list[list[tuple[str, bytes]]] = [[] for _ in range(CONNECTIONS)]
        for i in range(MESSAGES):
            d, k = i % DEVICES, i // DEVICES
            serial = f"KILL-{d:04d}"
            values = {c: v + (k % 3 - 1) for c, v in NORMAL.items()}
            self.work[d % CONNECTIONS].append((serial, payload(serial, start + timedelta(minutes=15 * k), values)))
        self.port = port
        self.published = 0
        self.acknowledged = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._send, args=(n, items), daemon=True)
                        for n, items in enumerate(self.work)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    @property
    def done(self) -> bool:
        return not any(thread.is_alive() for thread in self.threads)

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def _send(self, n: int, items: list[tuple[str, bytes]]) -> None:
        import paho.mqtt.client as mqtt

        try:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"kill-test-devices-{n}")
            client.max_inflight_messages_set(100)
            client.connect("127.0.0.1", self.port)
            client.loop_start()
            every = CONNECTIONS / PER_SECOND
            began = time.monotonic()
            infos = []
            for index, (serial, body) in enumerate(items):
                delay = began + index * every - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                infos.append(client.publish(mqtt_ingest.readings_topic(serial), body, qos=1))
                with self._lock:
                    self.published += 1
            for info in infos:
                info.wait_for_publish(120)
                with self._lock:
                    self.acknowledged += info.is_published()
            client.disconnect()
            client.loop_stop()
        except Exception as exc:  # the test reports it
            self.errors.append(repr(exc))


def subscribed(port: int, run: subprocess.Popen[str]) -> bool:
    """Once the ingester stores a device's state, it is subscribed."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="kill-test-probe")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        def online() -> bool:
            client.publish(mqtt_ingest.state_topic("KILL-0000"), "en_ligne", qos=1).wait_for_publish(5)
            return run.poll() is None and Device.objects.filter(serial="KILL-0000", state="en_ligne").exists()

        return wait_for(online, 60, every=0.5)
    finally:
        client.disconnect()
        client.loop_stop()


def stored_messages() -> int:
    """Messages whose readings are committed (a message is stored whole, in one transaction)."""
    return Observation.objects.filter(device__serial__startswith="KILL-").count() // READINGS


def test_kill_9_of_the_ingester_twice_while_devices_publish_loses_nothing_and_counts_nothing_twice(sinks,
                                                                                                   tmp_path) -> None:
    require(bool(shutil.which("mosquitto")) or Path("/usr/sbin/mosquitto").exists(), "mosquitto is not installed")
    first = clock.now() - timedelta(days=2)
    persons = [PERSON_BASE + d for d in range(DEVICES)]
    for d in range(DEVICES):
        device, _ = telemetry.register_device(f"KILL-{d:04d}", "constantes", 900)
        telemetry.lend(device, persons[d], first.date())
    env = worker_env(tmp_path, sinks, PROACTIF_LOG_LEVEL="WARNING")
    kills: list[dict[str, int]] = []
    run: subprocess.Popen[str] | None = None
    try:
        with private_broker() as port:
            relay = AckHolder(port)
            run = ingester(env, relay.port, 0)
            assert subscribed(port, run), log_tail(env)  # its session exists: the broker queues for it from now on
            devices = Publisher(port)
            devices.start()
            threshold = 500
            for n in (1, 2):
                current = run
                assert wait_for(lambda t=threshold, r=current: stored_messages() >= t or r.poll() is not None,
                                120), log_tail(env)
                assert run.poll() is None, log_tail(env)
                relay.hold()  # its acknowledgements stop reaching the broker; what arrives is still committed
                held = stored_messages()
                wait_for(lambda h=held: stored_messages() >= h + 100, 10)
                kill9(run)
                relay.cut()
                kills.append({"stored": stored_messages(), "held": stored_messages() - held,
                              "published": devices.published})
                assert not devices.done, "publishing finished before the kill: nothing was tested"
                run = ingester(env, relay.port, n)
                threshold = kills[-1]["stored"] + 400  # the next kill once the restarted one has stored more
            devices.join(180)
            assert devices.errors == [] and devices.done, devices.errors
            assert devices.acknowledged == devices.published == MESSAGES
            assert wait_for(lambda: stored_messages() >= MESSAGES or run.poll() is not None, 180), log_tail(env)
            time.sleep(1)  # anything delivered twice would be in by now
            run.send_signal(signal.SIGTERM)  # the last one stops cleanly and prints its counts
            run.wait(60)
            assert run.returncode == 0, log_tail(env)
            final = json.loads((Path(env["PROACTIF_HOME"]) / "ingester-2.out").read_text().strip().splitlines()[-1])
            relay.close()
    finally:
        if run is not None and run.poll() is None:  # the test failed with an ingester running
            kill9(run)
        end_other_sessions()

    observations = Observation.objects.filter(device__serial__startswith="KILL-")
    readings = observations.count()
    messages = observations.values("device_id", "at").distinct().count()
    per_message = set(observations.values("device_id", "at").annotate(n=Count("id")).values_list("n", flat=True))
    aggregated = HourlyAggregate.objects.filter(person_id__in=persons).aggregate(n=Sum("count"))["n"]
    states = RuleState.objects.filter(person_id__in=persons).count()
    # the last ingester handled the messages not stored when it started, plus any the second one had committed but
    # not acknowledged when killed: the broker delivered those again, and they stored nothing
    redelivered = final["stored"] - (MESSAGES - kills[-1]["stored"])
    print(f"\n{connection_vendor()}: {MESSAGES} messages published by {DEVICES} devices on {CONNECTIONS} connections; "
          f"ingester killed at {kills[0]['stored']} and {kills[1]['stored']} messages stored "
          f"({kills[0]['published']} and {kills[1]['published']} published; {kills[0]['held']} and {kills[1]['held']} "
          f"committed with their acknowledgements held); {messages} messages stored, "
          f"{readings} readings ({READINGS} × {messages}), hourly aggregates count {aggregated}, "
          f"{states} rule states for {DEVICES} persons, {DeadLetter.objects.count()} dead letters; last ingester's "
          f"counts {final}, of which {redelivered} committed before the kill and delivered again")
    assert messages == MESSAGES
    assert per_message == {READINGS}
    assert readings == READINGS * MESSAGES
    assert aggregated == readings  # a message delivered again fed the aggregates nothing
    assert states == DEVICES
    assert DeadLetter.objects.count() == 0
    assert final["refused"] == 0, final
    assert 0 < kills[1]["held"] <= redelivered <= kills[1]["held"] + 2000, (redelivered, kills)


def connection_vendor() -> Any:
    from django.db import connection

    return connection.vendor
