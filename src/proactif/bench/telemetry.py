"""`proactif bench telemetry`: home-device messages through Mosquitto into the database, against the raw limit.

A private Mosquitto (persistence on, queue limits raised) on a free port; N messages (each one device's six vital
signs at one time, QoS 1) from at most 100 publisher connections multiplexing D device ids, published by a process
of their own (so that the measured process holds only the subscriber):

1. **reference** — the raw paho-mqtt subscriber limit: an MQTT 5 QoS 1 subscriber that only counts the messages;
2. **ingester** — `_mqtt.Ingester` (MQTT 5, the same Receive Maximum): parse, store once per (device, time, code),
   hourly aggregates, the rules, alerts, the acknowledgement after commit.

Both are timed from the first publish to the last message handled, the publishers the same. Then, with the
ingester idle, a few devices send a deterioration (SpO2 and pressure falling, heart and breathing rates up): the
latency from the publish of the reading that raised an alert to its alert row committed (`opened_at`).

`--database sqlite|postgres` runs it on a fresh database of that kind (in a child process); without, on the
configured database, and the benchmark's devices (serials `BENCH-…`) and what they left are deleted at the end.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from proactif.bench.common import free_port, machine, wait_for_port
from proactif.kernel import clock

MESSAGES = 100_000
DEVICES = 10_000
CONNECTIONS = 100
TARGET_RATIO = 0.5
LATENCY_DEVICES = 20
DETECTION = (200, 14 * 24, 40)  # persons, hours, injected deteriorations of the detection figures
PERSON_BASE = 9_100_000_000  # person ids of the benchmark's loans: outside the register's range
NORMAL = {"heart_rate": 72, "respiratory_rate": 16, "temperature": 36.7, "spo2": 97, "systolic_bp": 130,
          "diastolic_bp": 78}
SEPTIC = {"heart_rate": 128, "respiratory_rate": 27, "temperature": 39.4, "spo2": 86, "systolic_bp": 88,
          "diastolic_bp": 50}


@contextmanager
def private_broker() -> Iterator[int]:
    """A Mosquitto of our own on a free port, persistence on and queues raised; yields its port."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise LookupError("mosquitto n'est pas installé")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="proactif-mqtt-") as folder:
        conf = Path(folder) / "mosquitto.conf"
        # `user root`: as root mosquitto would drop to its own user, who cannot write in our folder
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\n"
                        f"persistence_location {folder}/\nmax_queued_messages 1000000\nmax_inflight_messages 100\n"
                        "max_queued_bytes 0\n")
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, 10)
            yield port
        finally:
            process.terminate()
            process.wait(10)


def payload(serial: str, at: datetime, values: dict[str, float]) -> bytes:
    from proactif.watch._mqtt import CODES

    stamp = at.isoformat().replace("+00:00", "Z")
    return json.dumps({"mesures": [{"code": c, "valeur": v, "unite": CODES[c], "le": stamp} for c, v in values.items()],
                       "batterie": 90}).encode()


def _publish(port: int, work: list[list[tuple[str, bytes]]]) -> None:
    """Each list on its own connection and thread, QoS 1, until every PUBACK is in."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from proactif.watch._mqtt import readings_topic

    def send(index: int, items: list[tuple[str, bytes]]) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}-{index}")
        client.max_inflight_messages_set(100)
        client.connect("127.0.0.1", port)
        client.loop_start()
        infos = [client.publish(readings_topic(serial), body, qos=1) for serial, body in items]
        for info in infos:
            info.wait_for_publish(120)
        client.disconnect()
        client.loop_stop()

    threads = [threading.Thread(target=send, args=(i, items)) for i, items in enumerate(work) if items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _publisher(port: int, messages: int, devices: int, connections: int, start: float,
               go: Any, ready: Any) -> None:
    """The publishing process: builds its messages, says it is ready, publishes at the signal."""
    import django

    django.setup()  # the topic scheme and payload live beside the ingester, which imports the models
    work = workload(messages, devices, connections, datetime.fromtimestamp(start, UTC))
    ready.set()
    go.wait()
    _publish(port, work)


class Publisher:
    """The messages, built in a process of their own before the clock starts, published when `run` is called."""

    def __init__(self, port: int, messages: int, devices: int, connections: int, start: datetime):
        context = multiprocessing.get_context("spawn")
        self.go, ready = context.Event(), context.Event()
        self.process = context.Process(target=_publisher, daemon=True, args=(
            port, messages, devices, connections, start.timestamp(), self.go, ready))
        self.process.start()
        deadline = time.monotonic() + 300
        while not ready.wait(0.5):
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"le processus de publication n'a pas démarré ({self.process.exitcode})")

    def run(self) -> None:
        self.go.set()

    def join(self) -> None:
        self.process.join(600)


def first_reading(messages: int, devices: int) -> datetime:
    """The time of the first reading: the devices' readings end a few minutes ago."""
    return clock.now().replace(microsecond=0) - timedelta(minutes=15 * (messages // devices + 2))


def workload(messages: int, devices: int, connections: int, start: datetime) -> list[list[tuple[str, bytes]]]:
    """Message i: device i mod D, its (i div D)-th reading 15 minutes after the previous; device d always on
    connection d mod C, so a device's messages stay in order."""
    work: list[list[tuple[str, bytes]]] = [[] for _ in range(connections)]
    for i in range(messages):
        d, k = i % devices, i // devices
        values = {c: v + (k % 3 - 1) * (0.1 if c == "temperature" else 1) for c, v in NORMAL.items()}
        work[d % connections].append((f"BENCH-{d:05d}", payload(f"BENCH-{d:05d}", start + timedelta(minutes=15 * k),
                                                                values)))
    return work


def _wait(counter: Any, target: int, seconds: float) -> float:
    deadline = time.monotonic() + seconds
    while counter() < target and time.monotonic() < deadline:
        time.sleep(0.01)
    return time.monotonic()


def _connect_properties() -> Any:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from proactif.watch._mqtt import RECEIVE_MAXIMUM

    properties = Properties(PacketTypes.CONNECT)
    properties.ReceiveMaximum = RECEIVE_MAXIMUM
    return properties


def raw_limit(port: int, publisher: Publisher, total: int) -> dict[str, Any]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from proactif.watch._mqtt import PREFIX

    received = [0]
    subscriber = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=mqtt.MQTTv5)
    subscriber.on_connect = lambda c, *a: c.subscribe(f"{PREFIX}/+/mesures", qos=1)

    def count(client: Any, userdata: Any, message: Any) -> None:
        received[0] += 1

    subscriber.on_message = count
    subscribed = threading.Event()
    subscriber.on_subscribe = lambda *args: subscribed.set()
    subscriber.connect("127.0.0.1", port, properties=_connect_properties())
    subscriber.loop_start()
    subscribed.wait(10)
    started = time.monotonic()
    publisher.run()
    ended = _wait(lambda: received[0], total, 300)
    publisher.join()
    subscriber.unsubscribe(f"{PREFIX}/+/mesures")
    subscriber.disconnect()
    subscriber.loop_stop()
    seconds = ended - started
    return {"messages": received[0], "seconds": round(seconds, 2), "msg_per_s": round(received[0] / seconds)}


def _cleanup(devices: int) -> None:
    from proactif.watch.models import Alert, Device, HourlyAggregate, RuleState

    persons = range(PERSON_BASE, PERSON_BASE + devices)
    Device.objects.filter(serial__startswith="BENCH-").delete()
    for model in (Alert, HourlyAggregate, RuleState):
        model.objects.filter(person_id__gte=persons.start, person_id__lt=persons.stop).delete()


def _latency(port: int, devices: int) -> dict[str, Any]:
    """Deteriorations sent one reading at a time by a few devices, the ingester idle; for each alert, from the
    publish of the reading it was found on to its row committed."""
    from proactif.kernel import clock
    from proactif.watch.models import Alert

    sent: dict[tuple[int, datetime], float] = {}
    start = clock.now().replace(microsecond=0) + timedelta(minutes=1)
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from proactif.watch._mqtt import readings_topic

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-lat-{uuid.uuid4().hex[:6]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    chosen = range(0, devices, max(1, devices // LATENCY_DEVICES))[:LATENCY_DEVICES]
    for k in range(4):  # the persistence guards need a few readings in a row
        for d in chosen:
            at = start + timedelta(minutes=15 * k)
            sent[(PERSON_BASE + d, at)] = clock.now().timestamp()
            client.publish(readings_topic(f"BENCH-{d:05d}"), payload(f"BENCH-{d:05d}", at, SEPTIC), qos=1)
            time.sleep(0.02)
    time.sleep(3)
    client.disconnect()
    client.loop_stop()
    delays = sorted((opened.timestamp() - sent[(person, found)]) for person, found, opened in Alert.objects.filter(
        person_id__in=[PERSON_BASE + d for d in chosen], found_at__gte=start).values_list(
        "person_id", "found_at", "opened_at") if (person, found) in sent)
    if not delays:
        return {"publish_to_alert_p95_s": None, "latency_note": "non mesurée : aucune alerte ouverte"}
    return {"publish_to_alert_p95_s": round(delays[max(0, int(0.95 * len(delays)) - 1)], 3),
            "publish_to_alert_median_s": round(delays[len(delays) // 2], 3), "alerts_measured": len(delays),
            "latency_load": "ingesteur au repos (après la mesure de débit)"}


def detection(persons: int, hours: int, episodes: int, seeds: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """The rules on synthetic vitals with deteriorations injected at known times (`watch.synthetic_vitals`): the
    share caught and the false alarms per 100 person-days, per seed, with the rule settings."""
    from proactif.watch import rules, synthetic_vitals

    runs = [synthetic_vitals.evaluate(synthetic_vitals.generate(persons, hours, seed, episodes)) for seed in seeds]
    keep = ("injected", "caught", "caught_share", "false_alarms", "false_alarms_per_100_person_days",
            "false_alarms_by_rule", "delay_median_min", "delay_p95_min", "delay_median_min_by_kind")
    return {"persons": persons, "hours": hours, "person_days": runs[0]["person_days"],
            "episodes_by_kind": runs[0]["episodes_by_kind"], "aim": {"caught_share": 0.95, "false_per_100": 1.0},
            "by_seed": {seed: {key: run[key] for key in keep} for seed, run in zip(seeds, runs, strict=True)},
            "settings": runs[0]["settings"], "thresholds": rules.as_dict(rules.DEFAULTS),
            "grace_min": runs[0]["grace_min"]}


def run(residents: int | None = None, database: str | None = None, devices: int = DEVICES,
        scenario: tuple[int, int, int] = DETECTION) -> dict[str, Any]:
    """`residents`, if given, is the message count. With `database`, on a fresh database of that kind in a child
    process; without, here on the configured database. Then the detection figures on `scenario`."""
    messages = residents or MESSAGES
    return {**_throughput(messages, database, devices), "detection": detection(*scenario)}


def _throughput(messages: int, database: str | None, devices: int) -> dict[str, Any]:
    if database:
        from proactif.bench.common import fresh_database, run_measured

        db = fresh_database(database, "telemetry")
        measured = run_measured(["bench-probe", "telemetry", "--count", str(messages), "--devices", str(devices)],
                                db)
        return {**measured.output, "peak_rss_mb": measured.peak_rss_mb}
    from django.apps import apps

    if not apps.ready:  # from the command line; under a test Django is already set up
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        from proactif.kernel.install import install

        install()  # the shipped journeys: a critical alert starts its escalation in the ingestion's transaction
    return measure(messages, devices)


def _register(devices: int) -> None:
    """The benchmark's devices, each lent to a person of its own (bulk: 10,000 devices in a second or two)."""
    from proactif.watch import _telemetry as telemetry
    from proactif.watch.models import Device, DeviceLoan

    now = clock.now()
    Device.objects.bulk_create([Device(serial=f"BENCH-{d:05d}", kind="constantes", created_at=now,
                                       token_hash=telemetry.token_hash(uuid.uuid4().hex), expected_interval_s=900)
                                for d in range(devices)], batch_size=2000)
    ids = dict(Device.objects.filter(serial__startswith="BENCH-").values_list("serial", "id"))
    loan_day = (now - timedelta(days=2)).date()
    DeviceLoan.objects.bulk_create([DeviceLoan(device_id=ids[f"BENCH-{d:05d}"], person_id=PERSON_BASE + d,
                                               start_on=loan_day) for d in range(devices)], batch_size=2000)


def measure(messages: int, devices: int = DEVICES) -> dict[str, Any]:
    """The benchmark on the configured database, Django ready."""
    from django.db import connection

    from proactif.watch import _mqtt as mqtt_ingest
    from proactif.watch.models import Observation

    devices = max(1, min(devices, messages))
    connections = min(CONNECTIONS, devices)
    start = first_reading(messages, devices)
    _cleanup(devices)
    with private_broker() as port:
        raw = raw_limit(port, Publisher(port, messages, devices, connections, start), messages)
        _register(devices)
        publisher = Publisher(port, messages, devices, connections, start)
        ingester = mqtt_ingest.Ingester("127.0.0.1", port, client_id=f"bench-ingester-{uuid.uuid4().hex[:6]}")
        mqtt_ingest.tune_collector()  # as `proactif watch ingest` does
        ingester.start(wait=10)  # a message published before the subscription would reach no one
        started = time.monotonic()
        publisher.run()
        ended = _wait(lambda: sum(ingester.counts.values()), messages, 1200)
        publisher.join()
        handled = dict(ingester.counts)
        stored = Observation.objects.filter(device__serial__startswith="BENCH-").count()
        latency = _latency(port, devices)
        ingester.stop()
    _cleanup(devices)
    seconds = ended - started
    rate = round(handled["stored"] / seconds)
    return {"benchmark": "telemetry", "database": connection.vendor, "messages": messages, "devices": devices,
            "connections": connections, "qos": 1, "readings_per_message": len(NORMAL),
            "raw_subscriber": raw,
            "ingester": {"messages": handled["stored"], "refused": handled["refused"], "seconds": round(seconds, 2),
                         "msg_per_s": rate, "readings_stored": stored, "batch_max": mqtt_ingest.BATCH},
            "ratio": round(rate / raw["msg_per_s"], 2) if raw["msg_per_s"] else None, "target_ratio": TARGET_RATIO,
            **latency, "machine": machine()}
