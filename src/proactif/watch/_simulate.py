"""Synthetic home devices over MQTT, so the desk lives: `proactif watch simulate-devices`.

Registers devices `SIM-00001`… (kind `constantes`), lends each to a person of the register (status inscrite —
never to an invented person: with fewer persons than devices asked, fewer devices run and the figures say so),
builds a `synthetic_vitals` scenario (daily rhythms, noise, dropped messages, silent devices, deteriorations at
known times), shifts its times so it ends now, and publishes it over MQTT (QoS 1, the `_mqtt` topic scheme and
payload: one message per device and 15-minute slot, its motion events in the same message) while an in-process
`_mqtt.Ingester` stores it. The figures are counted from the database, not assumed: readings stored, duplicates,
messages refused, alerts the rules opened, and the injected episodes an alert of the matching rule caught.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _telemetry as telemetry
from proactif.watch import synthetic_vitals
from proactif.watch.models import Alert, Device, DeviceLoan, Observation, Registration
from proactif.watch.rules import VITALS

SERIAL = "SIM-{:05d}"
CONNECTIONS = 10  # publisher connections, each carrying several devices' messages
WINDOW = 500  # messages published and not yet ingested, at most
GRACE = timedelta(hours=2)  # an alert found this long after an episode's end still counts as catching it


class SimulationError(ValueError):
    pass


def _iso(epoch: float, shift: float) -> str:
    return datetime.fromtimestamp(epoch + shift, UTC).isoformat().replace("+00:00", "Z")


def messages(scenario: synthetic_vitals.Scenario, serials: list[str], shift: float, *, live: bool = False
             ) -> Iterator[tuple[str, bytes]]:
    """(topic, payload) in time order: per slot and device, the vital signs present and the motion events of
    the slot; a device's Last Will `hors_ligne` where the scenario has one. `live`: each slot's message is sent at
    its time, so it carries the motion events of the quarter of an hour before it (never one yet to come)."""
    step = scenario.interval * 60.0
    lead = step if live else 0.0
    offline = sorted(scenario.offline, key=lambda item: item[1])
    for slot, t in enumerate(scenario.times):
        while offline and offline[0][1] < t + step - lead:
            person, _ = offline.pop(0)
            yield mqtt_ingest.state_topic(serials[person]), b"hors_ligne"
        for p, serial in enumerate(serials):
            items = [{"code": code, "valeur": float(value), "unite": mqtt_ingest.CODES[code], "le": _iso(t, shift)}
                     for code, value in zip(VITALS, scenario.vitals[p, slot], strict=True) if not math.isnan(value)]
            moves = scenario.motion[p]
            items += [{"code": "motion", "valeur": 1, "unite": "1", "le": _iso(float(m), shift)}
                      for m in moves[(moves >= t - lead) & (moves < t + step - lead)]]
            if items:
                yield mqtt_ingest.readings_topic(serial), json.dumps({"mesures": items, "batterie": 80}).encode()


def _devices(count: int, hours: int, serial: str = SERIAL) -> tuple[list[str], list[int]]:
    """Devices `serial`.format(1…count) lent to persons of the register (status inscrite) of the synthetic commune
    only — never a real resident, whose referent an escalation would page —, at most one each; a device already
    lent to a person still registered stays with that person (a second run lends nothing)."""
    registered = list(Registration.objects.filter(status="inscrite").order_by("person_id")
                      .values_list("person_id", flat=True))
    if not registered:
        raise SimulationError("aucune personne inscrite au registre : aucun appareil à prêter")
    synthetic = {pk for pk, resident in registry.residents(registered).items() if resident.synthetic}
    registered = [pk for pk in registered if pk in synthetic]
    if not registered:  # a simulated deterioration would page a real person's referent and contacts
        raise SimulationError("aucune personne synthétique inscrite au registre : les appareils simulés ne sont "
                              "prêtés qu'aux habitants de la commune synthétique (proactif seed), jamais à de "
                              "vraies personnes, dont les référents et les proches seraient alertés")
    wanted = [serial.format(n) for n in range(1, min(count, len(registered)) + 1)]
    start_on = (clock.now() - timedelta(hours=hours + 24)).astimezone(clock.local_tz()).date()
    kept = set(registered)
    held: dict[str, int] = {}
    for device_serial, person in DeviceLoan.objects.filter(device__serial__in=wanted, end_on__isnull=True,
                                                           person_id__in=registered).order_by("start_on", "pk") \
            .values_list("device__serial", "person_id"):
        held[device_serial] = person
    taken = set(held.values())
    free = iter([p for p in registered if p not in taken])
    serials, persons = [], []
    for device_serial in wanted:
        person = held.get(device_serial)
        if person is None or person not in kept:
            person = next(free)
            device = Device.objects.filter(serial=device_serial).first()
            if device is None:
                device, _ = telemetry.register_device(device_serial, "constantes", expected_interval_s=15 * 60)
            telemetry.lend(device, person, start_on)
        serials.append(device_serial)
        persons.append(person)
    return serials, persons


def publish(clients: list[Any], items: Iterator[tuple[str, bytes]], ingester: mqtt_ingest.Ingester | None = None,
            deadline: float | None = None, speed: float = 0.0) -> tuple[int, int]:
    """Publish (topic, payload) at QoS 1 over `clients` in turn until every PUBACK is in; with the `ingester` of
    this process, never more than WINDOW messages ahead of it (a broker queues a limited number of messages for a
    slow subscriber — Mosquitto: 1,000 by default — and drops the rest). Returns (messages, readings)."""
    published = readings = 0
    pending = []
    began = time.monotonic()
    for topic, payload in items:
        while ingester is not None and published - sum(ingester.counts.values()) >= WINDOW \
                and time.monotonic() < (deadline or math.inf):
            time.sleep(0.005)
        pending.append(clients[published % len(clients)].publish(topic, payload, qos=1))
        published += 1
        readings += payload.count(b'"code"')
        if speed > 0:
            time.sleep(max(0.0, began + published / speed - time.monotonic()))
    for info in pending:
        info.wait_for_publish(30)
    return published, readings


def _caught(scenario: synthetic_vitals.Scenario, persons: list[int], shift: timedelta, since: datetime) -> int:
    alerts = list(Alert.objects.filter(person_id__in=persons, opened_at__gte=since).values_list(
        "person_id", "rule", "found_at"))
    caught = 0
    for episode in scenario.episodes:
        person = persons[scenario.persons.index(episode.person)]
        start, end = episode.start + shift, episode.end + shift + GRACE
        prefixes = synthetic_vitals.RELEVANT[episode.kind]
        caught += any(p == person and rule.startswith(prefixes) and start <= at <= end for p, rule, at in alerts)
    return caught


def simulate_devices(count: int, hours: int, episodes: int, seed: int, host: str = "127.0.0.1", port: int = 1883,
                     speed: float = 0.0, timeout: float = 120.0) -> dict[str, Any]:
    """Publish `hours` of synthetic readings of `count` devices over MQTT and ingest them here; `speed` paces the
    publishing in messages per second (0: as fast as the broker takes them). Returns the figures."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    if count < 1 or hours < 1 or episodes < 0:
        raise SimulationError("--count et --hours doivent être positifs, --episodes positif ou nul")
    serials, persons = _devices(count, hours)
    scenario = synthetic_vitals.generate(len(serials), hours, seed, episodes)
    started = clock.now()
    shift = started - (scenario.start + timedelta(hours=hours))
    before = Observation.objects.filter(device__serial__in=serials).count()
    ingester = mqtt_ingest.Ingester(host, port, client_id=f"proactif-simulate-{uuid.uuid4().hex[:8]}")
    subscribed = threading.Event()  # a message published before the subscription would reach no one
    ingester.client.on_subscribe = lambda *args: subscribed.set()
    try:
        ingester.start()
    except OSError as exc:
        raise SimulationError(f"courtier MQTT injoignable sur {host}:{port} ({exc})") from None
    if not subscribed.wait(10):
        ingester.stop()
        raise SimulationError(f"le courtier MQTT {host}:{port} n'a pas confirmé l'abonnement")
    clients = []
    for c in range(min(CONNECTIONS, len(serials))):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"proactif-sim-pub-{uuid.uuid4().hex[:8]}-{c}")
        client.max_queued_messages_set(0)
        client.connect(host, port)
        client.loop_start()
        clients.append(client)
    began = time.monotonic()
    try:
        # `timeout` beyond an ingestion at 50 messages a second at least
        deadline = time.monotonic() + timeout + len(serials) * len(scenario.times) / 50
        published, readings = publish(clients, messages(scenario, serials, shift.total_seconds()), ingester,
                                      deadline, speed)
        while sum(ingester.counts.values()) < published and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
        ingester.stop()
    stored = Observation.objects.filter(device__serial__in=serials).count() - before
    seconds = time.monotonic() - began
    figures: dict[str, Any] = {
        "devices": len(serials), "devices_requested": count, "persons_registered_used": len(persons),
        "hours": hours, "seed": seed, "published": published, "readings_published": readings,
        "messages_ingested": sum(ingester.counts.values()), "stored": stored,
        "not_stored": readings - stored,  # duplicates, or readings of messages not ingested (see note_ingestion)
        "refused": ingester.counts["refused"], "states": ingester.counts["state"],
        "alerts_opened": Alert.objects.filter(person_id__in=persons, opened_at__gte=started).count(),
        "episodes_injected": len(scenario.episodes), "episodes_caught": _caught(scenario, persons, shift, started),
        "episodes_by_kind": {kind: sum(e.kind == kind for e in scenario.episodes) for kind in synthetic_vitals.KINDS},
        "seconds": round(seconds, 1), "broker": f"{host}:{port}"}
    if len(serials) < count:
        figures["note"] = (f"{len(serials)} personnes inscrites seulement : {len(serials)} appareils simulés "
                           f"sur {count} demandés")
    if figures["messages_ingested"] < published:
        figures["note_ingestion"] = (f"{published - figures['messages_ingested']} messages non ingérés "
                                     "dans le délai")
    return figures
