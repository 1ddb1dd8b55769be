"""Home devices over MQTT (Mosquitto, paho-mqtt): the topic scheme, the payload, and the ingester.

Topics (one device, one serial, its own credential; the broker's ACL lets it write only its own topics):

- `veille/appareils/<serial>/mesures` — QoS 1. A JSON object:
  `{"mesures": [{"code": "spo2", "valeur": 95, "unite": "%", "le": "2026-07-14T08:00:00Z"}, …], "batterie": 87}`;
  codes: heart_rate, respiratory_rate, temperature, spo2, systolic_bp, diastolic_bp, motion, presence, fall,
  ok_button. An optional `"appareil"` must name the topic's own device (else the message is forged).
- `veille/appareils/<serial>/etat` — retained: `en_ligne`, or `hors_ligne` as the device's Last Will.

The ingester keeps a persistent session (clean_session False, a fixed client id, QoS 1) and acknowledges a
message only once its rows are committed (`manual_ack`): a broker restart or the ingester killed in the middle
redelivers what was not acknowledged, and the store's idempotency (device, time, code) makes it harmless. A
message that cannot be read, names another device or an unknown one goes to the dead-letter list with its reason,
and is acknowledged (redelivering it would not make it readable).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import close_old_connections

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


@dataclass(frozen=True)
class MqttReading:
    code: str
    value: float
    unit: str
    at: datetime


class PayloadError(ValueError):
    pass


def readings_topic(serial: str) -> str:
    return f"{PREFIX}/{serial}/{READINGS}"


def state_topic(serial: str) -> str:
    return f"{PREFIX}/{serial}/{STATE}"


def parse_topic(topic: str) -> tuple[str, str]:
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != PREFIX or parts[3] not in (READINGS, STATE) or not parts[2]:
        raise PayloadError(f"sujet inconnu : {topic[:120]}")
    return parts[2], parts[3]


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
    for i, item in enumerate(items):
        where = f"mesures[{i}]"
        if not isinstance(item, dict):
            raise PayloadError(f"{where} : objet attendu")
        code = item.get("code")
        if code not in CODES:
            raise PayloadError(f"{where}.code : « {str(code)[:30]} » inconnu ({', '.join(CODES)})")
        value = item.get("valeur")
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise PayloadError(f"{where}.valeur : nombre attendu")
        unit = item.get("unite", CODES[code])
        if unit != CODES[code]:
            raise PayloadError(f"{where}.unite : « {str(unit)[:20]} » au lieu de « {CODES[code]} »")
        try:
            at = datetime.fromisoformat(str(item.get("le", "")).replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError(f"{where}.le : date ISO 8601 attendue") from None
        if at.tzinfo is None:
            raise PayloadError(f"{where}.le : fuseau horaire manquant")
        out.append(MqttReading(code, float(value), unit, at))
    battery = data.get("batterie")
    if battery is not None and (isinstance(battery, bool) or not isinstance(battery, int) or not 0 <= battery <= 100):
        raise PayloadError("batterie : entier de 0 à 100 attendu")
    return out, battery


def handle(topic: str, payload: bytes) -> str:
    """One message: stored (`stored`), a state change (`state`), or refused into the dead-letter list
    (`refused`). Runs in its own transaction; the caller acknowledges after it returns."""
    try:
        serial, kind = parse_topic(topic)
        if kind == STATE:
            state = payload.decode("utf-8", errors="replace").strip()
            if state not in ("en_ligne", "hors_ligne"):
                raise PayloadError(f"état inconnu : {state[:30]}")
            if not Device.objects.filter(serial=serial).update(state=state):
                raise telemetry.UnknownDevice(serial)
            return "state"
        readings, battery = parse_readings(serial, payload)
        telemetry.ingest(serial, readings, "mqtt", battery=battery)
        return "stored"
    except PayloadError as exc:
        telemetry.dead_letter("mqtt", topic, str(exc), payload)
    except telemetry.UnknownDevice:
        telemetry.dead_letter("mqtt", topic, "appareil inconnu", payload)
    return "refused"


class Ingester:
    """The MQTT subscriber: persistent session, QoS 1, acknowledgement after commit."""

    def __init__(self, host: str, port: int, *, username: str = "", password: str = "", tls: bool = False,
                 client_id: str = CLIENT_ID):
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.host, self.port = host, port
        self.counts: dict[str, int] = {"stored": 0, "state": 0, "refused": 0}
        self._lock = threading.Lock()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        client.subscribe([(f"{PREFIX}/+/{READINGS}", 1), (f"{PREFIX}/+/{STATE}", 1)])

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        close_old_connections()
        try:
            outcome = handle(message.topic, message.payload)
        except Exception:  # the database is down: no acknowledgement, the broker delivers it again
            log.exception("mqtt message not stored", topic=message.topic)
            return
        client.ack(message.mid, message.qos)
        with self._lock:
            self.counts[outcome] += 1

    def start(self) -> Ingester:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()  # a clean DISCONNECT: the broker keeps the session and queues for it
        self.client.loop_stop()
