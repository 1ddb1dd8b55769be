"""Home devices over MQTT (Mosquitto, paho-mqtt): the topic scheme, the payload, and the ingester.

Topics (one device, one serial, its own credential; the broker's ACL lets it write only its own topics):

- `veille/appareils/<serial>/mesures` — QoS 1. A JSON object:
  `{"mesures": [{"code": "spo2", "valeur": 95, "unite": "%", "le": "2026-07-14T08:00:00Z"}, …], "batterie": 87}`;
  codes: heart_rate, respiratory_rate, temperature, spo2, systolic_bp, diastolic_bp, motion, presence, fall,
  ok_button. An optional `"appareil"` must name the topic's own device (else the message is forged).
- `veille/appareils/<serial>/etat` — retained: `en_ligne`, or `hors_ligne` as the device's Last Will.

The ingester keeps a persistent session (MQTT 5, clean_start off, a fixed client id, QoS 1) and acknowledges a
message only once its rows are committed (`manual_ack`; many messages a transaction under load): a broker restart
or the ingester killed in the middle redelivers what was not acknowledged, and the store's idempotency (device,
time, code) makes it harmless. A message that cannot be read, names another device or an unknown one goes to the
dead-letter list with its reason, and is acknowledged (redelivering it would not make it readable).
"""

from __future__ import annotations

import gc
import json
import math
import queue
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from django.db import close_old_connections, connection, transaction

from proactif.kernel.logging import get_logger
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import Device

log = get_logger(__name__)
PREFIX = "veille/appareils"
READINGS, STATE = "mesures", "etat"
CODES = {"heart_rate": "/min", "respiratory_rate": "/min", "temperature": "Cel", "spo2": "%", "systolic_bp": "mm[Hg]",
         "diastolic_bp": "mm[Hg]", "motion": "1", "presence": "1", "fall": "1", "ok_button": "1"}
MAX_READINGS = 500
CLIENT_ID = "proactif-ingester"
BATCH = 500  # messages a transaction at most
RETRIES = 5  # attempts of a message that fails alone before it is left to the broker's next delivery
RECEIVE_MAXIMUM = 2000  # unacknowledged messages the broker may send us (MQTT 5 Receive Maximum)
SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our session and queue this long while we are away


class MqttReading(NamedTuple):  # a named tuple: a batch makes thousands (a frozen dataclass is slower to build)
    code: str
    value: float
    unit: str
    at: datetime


class PayloadError(ValueError):
    pass


class Refused(ConnectionError):
    """The broker refused the ingester (credentials, rights) or never let it subscribe."""


def readings_topic(serial: str) -> str:
    return f"{PREFIX}/{serial}/{READINGS}"


def state_topic(serial: str) -> str:
    return f"{PREFIX}/{serial}/{STATE}"


def parse_topic(topic: str) -> tuple[str, str]:
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != PREFIX or parts[3] not in (READINGS, STATE) or not parts[2]:
        raise PayloadError(f"sujet inconnu : {topic[:120]}")
    return parts[2], parts[3]


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits: no float holds it
        return False


def parse_readings(serial: str, payload: bytes) -> tuple[list[MqttReading], int | None]:
    """The readings of a `mesures` message, or PayloadError saying what is wrong and where."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"JSON illisible ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("mesures"), list):
        raise PayloadError("objet JSON avec une liste « mesures » attendu")
    if "appareil" in data and data["appareil"] != serial:
        raise PayloadError("le message nomme un autre appareil que son sujet : message falsifié")
    items = data["mesures"]
    if len(items) > MAX_READINGS:
        raise PayloadError(f"plus de {MAX_READINGS} mesures dans un message")
    out = []
    times: dict[str, datetime] = {}
    for i, item in enumerate(items):
        if item.__class__ is not dict:
            raise PayloadError(f"mesures[{i}] : objet attendu")
        code = item.get("code")
        expected = CODES.get(code) if code.__class__ is str else None
        if expected is None:
            raise PayloadError(f"mesures[{i}].code : « {str(code)[:30]} » inconnu ({', '.join(CODES)})")
        value = item.get("valeur")
        if value.__class__ not in (int, float) or not _finite(value):  # bool is not int here
            raise PayloadError(f"mesures[{i}].valeur : nombre attendu")
        unit = item.get("unite", expected)
        if unit != expected:
            raise PayloadError(f"mesures[{i}].unite : « {str(unit)[:20]} » au lieu de « {expected} »")
        stamp = item.get("le", "")
        at = times.get(stamp) if stamp.__class__ is str else None
        if at is None:  # a message's readings usually share their time: read it once
            try:
                at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            except ValueError:
                raise PayloadError(f"mesures[{i}].le : date ISO 8601 attendue") from None
            if at.tzinfo is None:
                raise PayloadError(f"mesures[{i}].le : fuseau horaire manquant")
            times[str(stamp)] = at
        out.append(MqttReading(code, float(value), unit, at))
    battery = data.get("batterie")
    if battery is not None and (isinstance(battery, bool) or not isinstance(battery, int) or not 0 <= battery <= 100):
        raise PayloadError("batterie : entier de 0 à 100 attendu")
    return out, battery


def tune_collector() -> None:
    """For a process that ingests: the objects alive now (Django, the app) left out of collections, and young
    collections rarer — a batch allocates tens of thousands of short-lived objects, and each full collection would
    walk every object of the process (measured: a quarter of the ingester's time went to the collector)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


def handle(topic: str, payload: bytes) -> str:
    """One message: see `handle_batch`."""
    return handle_batch([(topic, payload)])[0]


def handle_batch(messages: Sequence[tuple[str, bytes]]) -> list[str]:
    """Messages in one transaction, in their order: each stored (`stored`), a state change (`state`), or refused
    into the dead-letter list with its reason (`refused`). The caller acknowledges them after it returns; an
    exception (the database down) leaves them all unacknowledged."""
    outcomes = ["refused"] * len(messages)
    deliveries: list[telemetry.Delivery] = []
    owners: list[int] = []
    states: list[tuple[int, str, str]] = []
    refused: list[tuple[int, str]] = []
    for index, (topic, payload) in enumerate(messages):
        try:
            serial, kind = parse_topic(topic)
            if kind == STATE:
                state = payload.decode("utf-8", errors="replace").strip()
                if state not in ("en_ligne", "hors_ligne"):
                    raise PayloadError(f"état inconnu : {state[:30]}")
                states.append((index, serial, state))
                continue
            readings, battery = parse_readings(serial, payload)
        except PayloadError as exc:
            refused.append((index, str(exc)))
            continue
        deliveries.append(telemetry.Delivery(serial, readings, battery))
        owners.append(index)
    with transaction.atomic():
        result = telemetry.ingest_many(deliveries, "mqtt")
        unknown = {owners[k] for k in result.unknown}
        for index in owners:
            if index in unknown:
                refused.append((index, "appareil inconnu"))
            else:
                outcomes[index] = "stored"
        last_reading = {d.serial: index for d, index in zip(deliveries, owners, strict=True) if index not in unknown}
        for index, serial, state in states:  # a state said before the batch's last reading of its device is stale
            if last_reading.get(serial, -1) > index or Device.objects.filter(serial=serial).update(state=state):
                outcomes[index] = "state"
            else:
                refused.append((index, "appareil inconnu"))
        for index, reason in sorted(refused):
            telemetry.dead_letter("mqtt", messages[index][0], reason, messages[index][1])
    return outcomes


class Ingester:
    """The MQTT subscriber: a persistent session (MQTT 5, `clean_start` off, the session kept a week), QoS 1, the
    acknowledgement after commit.

    paho's network thread only queues what arrives; a worker thread takes whatever has queued — one message when
    idle, up to `batch` under load — stores it in one transaction, then acknowledges each message in order. The
    broker sends at most `RECEIVE_MAXIMUM` unacknowledged messages, which bounds the queue. A batch that fails is
    retried one message per transaction, so that one bad message cannot hold back the others; one that still
    fails is tried again a few times a second apart (the database back), then left unacknowledged: the broker
    delivers it again at the next connection."""

    def __init__(self, host: str, port: int, *, username: str = "", password: str = "", tls: bool = False,
                 ca_file: str | None = None, client_id: str = CLIENT_ID, batch: int = BATCH,
                 topics: Sequence[str] | None = None):
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(ca_certs=ca_file)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.host, self.port, self.tls, self.batch = host, port, tls, max(1, batch)
        self.topics = list(topics) if topics else [f"{PREFIX}/+/{READINGS}", f"{PREFIX}/+/{STATE}"]
        self._attempts: dict[int, int] = {}  # mid → failed attempts of a message stored alone
        self.counts: dict[str, int] = {"stored": 0, "state": 0, "refused": 0}
        self.subscribed = threading.Event()
        self.refused = ""  # the broker's reason when it refused the connection
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._work, name="mqtt-ingester", daemon=True)
        self._lock = threading.Lock()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):  # bad credentials, not authorised…: paho would retry forever
            self.refused = str(reason)
            log.error("mqtt connection refused", reason=self.refused)
            return
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if not self._stopping.is_set():  # once stopping, left unacknowledged: delivered again next time
            self._queue.put(message)

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            while len(batch) < self.batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            close_old_connections()  # a connection the database dropped is replaced, not failed on
            self._process(batch)
        connection.close()

    def _process(self, batch: list[Any]) -> None:
        try:
            outcomes = handle_batch([(m.topic, m.payload) for m in batch])
        except Exception:
            if len(batch) == 1:  # the database is down: not acknowledged; tried again here a few times, a second
                message = batch[0]  # apart, then left to the broker, which delivers it again at the next session
                tries = self._attempts[message.mid] = self._attempts.get(message.mid, 0) + 1
                log.exception("mqtt message not stored", topic=message.topic, attempt=tries)
                if tries < RETRIES and not self._stopping.wait(1.0):
                    self._queue.put(message)
                else:  # given up: its count goes too (the broker reuses message ids)
                    self._attempts.pop(message.mid, None)
                return
            for message in batch:
                self._process([message])
            return
        for message, outcome in zip(batch, outcomes, strict=True):
            self.client.ack(message.mid, message.qos)
            self._attempts.pop(message.mid, None)
            with self._lock:
                self.counts[outcome] += 1

    def start(self, wait: float = 0) -> Ingester:
        """Connect and consume; with `wait`, return once subscribed (at most `wait` seconds)."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        self._worker.start()
        self.client.connect(self.host, self.port, keepalive=30, clean_start=False, properties=properties)
        self.client.loop_start()
        if wait:
            self.subscribed.wait(wait)
        return self

    def stop(self) -> None:
        """Finish the batch in hand (acknowledged), leave the rest to the broker, then a clean DISCONNECT: the
        broker keeps the session and queues for it."""
        self._stopping.set()
        if self._worker.is_alive():
            self._worker.join(30)
        self.client.disconnect()
        self.client.loop_stop()


class BrokerAddress(NamedTuple):
    host: str
    port: int
    username: str
    password: str
    tls: bool


def broker_address(url: str) -> BrokerAddress:
    """`mqtt://[user:password@]host[:1883]` or `mqtts://…[:8883]` (TLS), read; ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"adresse MQTT invalide : mqtt://hôte:1883 ou mqtts://utilisateur:mot-de-passe@hôte:8883 "
                         f"attendu (reçu « {parts.scheme}://{parts.hostname or ''}… »)")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise ValueError("adresse MQTT invalide : port hors de 1 à 65535") from None
    return BrokerAddress(parts.hostname, port, unquote(parts.username or ""), unquote(parts.password or ""),
                         parts.scheme == "mqtts")


def from_url(url: str, *, ca_file: str = "", client_id: str = CLIENT_ID, topics: Sequence[str] | None = None
             ) -> Ingester:
    """An ingester for the broker at `url` (see `broker_address`)."""
    where = broker_address(url)
    return Ingester(where.host, where.port, username=where.username, password=where.password, tls=where.tls,
                    ca_file=ca_file or None, client_id=client_id, topics=topics)


def run(ingester: Ingester, stop: threading.Event, report: Any = None, every: float = 60) -> dict[str, int]:
    """Ingest until `stop` is set (the command sets it on SIGTERM or SIGINT); `report(counts)` every `every`
    seconds. Returns the counts; `Refused` when the broker refuses the connection or the subscription."""
    tune_collector()
    ingester.start(wait=10)
    if not ingester.subscribed.is_set():
        ingester.stop()
        raise Refused(f"connexion refusée ({ingester.refused})" if ingester.refused
                      else "pas d'abonnement en 10 s (broker muet ?)")
    try:
        while not stop.wait(every):
            if report is not None:
                report(dict(ingester.counts))
    finally:
        ingester.stop()
    return dict(ingester.counts)
