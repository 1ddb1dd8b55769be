"""Home devices and their readings (issue 18): devices and loans, the idempotent store of readings — one row per
(device, time, code), whatever the transport delivers twice or late — the hourly aggregates the trends read, and
the dead-letter list of what was refused.

`ingest` is what the MQTT ingester and the FHIR endpoint call, inside the transaction that precedes their
acknowledgement: a message is acknowledged only once its rows are committed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from django.db import connection, transaction

from proactif.kernel import clock
from proactif.watch import _bulk as bulk
from proactif.watch.models import DeadLetter, Device, DeviceLoan

SOURCES = ("mqtt", "fhir")
PAYLOAD_KEPT = 2000


class Reading(Protocol):
    """A reading as a transport decodes it (`watch.fhir.Reading`, the MQTT payload)."""

    code: str
    value: float
    unit: str
    at: datetime


class UnknownDevice(LookupError):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_device(serial: str, kind: str, expected_interval_s: int = 300) -> tuple[Device, str]:
    """A new device and its own token (shown once: only its hash is kept)."""
    if kind not in dict(Device.KINDS):
        raise ValueError(f"type d'appareil inconnu : {kind} ({', '.join(dict(Device.KINDS))})")
    token = secrets.token_urlsafe(24)
    device = Device.objects.create(serial=serial.strip()[:64], kind=kind, token_hash=token_hash(token),
                                   expected_interval_s=max(10, expected_interval_s), created_at=clock.now())
    return device, token


def device_for_token(serial: str, token: str) -> Device | None:
    """The device `serial` if `token` is its own (constant-time comparison)."""
    device = Device.objects.filter(serial=serial).first()
    if device is None or not device.token_hash:
        return None
    return device if secrets.compare_digest(device.token_hash, token_hash(token)) else None


def lend(device: Device, person_id: int, start_on: date, end_on: date | None = None) -> DeviceLoan:
    """Lend a device from `start_on`; an open loan of the device ends the day before."""
    with transaction.atomic():
        DeviceLoan.objects.filter(device=device, end_on__isnull=True, start_on__lt=start_on).update(
            end_on=start_on - timedelta(days=1))
        return DeviceLoan.objects.create(device=device, person_id=person_id, start_on=start_on, end_on=end_on)


@dataclass(frozen=True)
class Delivery:
    """What one message brought: a device's readings, and its battery level if it said."""

    serial: str
    readings: Sequence[Reading]
    battery: int | None = None


@dataclass
class Ingested:
    stored: int = 0
    duplicates: int = 0
    unknown: list[int] = field(default_factory=list)  # indices of the deliveries whose serial no device has


def ingest(serial: str, readings: Sequence[Reading], source: str, battery: int | None = None) -> dict[str, int]:
    """Store a device's readings once each (see `ingest_many`). Returns the counts stored and duplicates;
    `UnknownDevice` for a serial no device has."""
    result = ingest_many([Delivery(serial, readings, battery)], source)
    if result.unknown:
        raise UnknownDevice(serial)
    return {"stored": result.stored, "duplicates": result.duplicates}


def ingest_many(deliveries: Sequence[Delivery], source: str) -> Ingested:
    """Store the readings of many messages in one transaction, a handful of statements whatever their number:
    each reading once — one already there (same device, time and code), here or earlier in the batch, is left
    as it is — the hourly aggregates fed with the new ones only, the rules run on them in time order, and each
    device's last contact and battery. A delivery from an unknown serial stores nothing and is listed."""
    if source not in SOURCES:
        raise ValueError(f"source inconnue : {source}")
    result = Ingested()
    serials = {d.serial for d in deliveries}
    devices = dict(Device.objects.filter(serial__any=sorted(serials)).values_list("serial", "id")) if serials else {}
    loans: dict[int, list[tuple[date, date | None, int]]] = defaultdict(list)
    for device_id, start_on, end_on, person_id in DeviceLoan.objects.filter(
            device_id__any=list(devices.values())).values_list("device_id", "start_on", "end_on",
                                                                          "person_id"):
        loans[device_id].append((start_on, end_on, person_id))
    zone = clock.local_tz()
    rows: dict[tuple[int, str, float], tuple[Any, ...]] = {}
    contact: dict[int, tuple[datetime | None, int | None]] = {}
    for index, delivery in enumerate(deliveries):
        device_id = devices.get(delivery.serial)
        if device_id is None:
            result.unknown.append(index)
            continue
        for r in delivery.readings:
            key = (device_id, r.code, r.at.timestamp())
            if key in rows:
                result.duplicates += 1
                continue
            rows[key] = (device_id, _person_at(loans[device_id], r.at.astimezone(zone).date()), r.code, r.at,
                         float(r.value), r.unit, source)
        latest, battery = contact.get(device_id, (None, None))
        latest = max([r.at for r in delivery.readings] + ([latest] if latest else []), default=None)
        if delivery.battery is not None and 0 <= delivery.battery <= 100:
            battery = delivery.battery  # the last message's word
        contact[device_id] = (latest, battery)
    with transaction.atomic():
        stored = _insert_new(list(rows.values()))
        _aggregate(stored)
        from proactif.watch import _alerts as alerts  # the rules read the stored rows: after them, same transaction

        alerts.evaluate(stored)
        _touch(contact)
    result.stored, result.duplicates = len(stored), result.duplicates + len(rows) - len(stored)
    return result


def _person_at(loans: list[tuple[date, date | None, int]], day: date) -> int | None:
    for start_on, end_on, person_id in loans:
        if start_on <= day and (end_on is None or day <= end_on):
            return person_id
    return None


def _touch(contact: dict[int, tuple[datetime | None, int | None]]) -> None:
    """Each device heard from: online, its latest reading time if later than the one known, its battery if said."""
    adapt = _adapter()
    bulk.update("watch_device", "state = 'en_ligne', battery = COALESCE(v.battery, t.battery), last_seen_at = CASE "
                "WHEN v.latest IS NOT NULL AND (t.last_seen_at IS NULL OR t.last_seen_at < v.latest) THEN v.latest "
                "ELSE t.last_seen_at END", (("id", "bigint"), ("battery", "integer"), ("latest", "timestamptz")),
                [(pk, battery, adapt(latest) if latest else None) for pk, (latest, battery) in sorted(contact.items())])


def _adapter() -> Any:
    """The database's form of a time, computed once per distinct time (a message's readings share theirs)."""
    adapt = connection.ops.adapt_datetimefield_value
    known: dict[datetime, Any] = {}

    def adapted(value: datetime) -> Any:
        if value not in known:
            known[value] = adapt(value)
        return known[value]

    return adapted


OBSERVATION = (("device_id", "bigint"), ("person_id", "bigint"), ("code", "varchar"), ("at", "timestamptz"),
               ("value", "float8"), ("unit", "varchar"), ("source", "varchar"), ("received_at", "timestamptz"))
AGGREGATE = (("person_id", "bigint"), ("code", "varchar"), ("hour", "timestamptz"), ("count", "integer"),
             ("total", "float8"), ("minimum", "float8"), ("maximum", "float8"))


def _insert_new(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING (both databases): the rows actually new, nothing else. A returned
    time, adapted like the one sent, matches it: SQLite gives back the naive UTC time whose text was sent,
    PostgreSQL the same instant (equal and hashed alike whatever the offset)."""
    adapt = _adapter()
    received = adapt(clock.now())
    sent = [adapt(row[3]) for row in rows]
    returned = bulk.insert("watch_observation", OBSERVATION, [
        (device, person, code, at, value, unit, source, received)
        for (device, person, code, _at, value, unit, source), at in zip(rows, sent, strict=True)],
        "ON CONFLICT (device_id, at, code) DO NOTHING RETURNING device_id, code, at")
    if len(returned) == len(rows):  # the usual case: every reading was new
        return rows
    inserted = {(device, code, adapt(at)) for device, code, at in returned}
    return [row for row, at in zip(rows, sent, strict=True) if (row[0], row[2], at) in inserted]


def _aggregate(rows: Iterable[tuple[Any, ...]]) -> None:
    """Add the new readings to their person's hourly aggregates (UTC hours; one upsert per person, code and hour)."""
    groups: dict[tuple[int, str, datetime], list[float]] = defaultdict(list)
    hours: dict[datetime, datetime] = {}
    for _device, person, code, at, value, *_ in rows:
        if person is not None:
            if at not in hours:
                hours[at] = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            groups[(person, code, hours[at])].append(value)
    adapt = _adapter()
    bulk.insert("watch_hourlyaggregate", AGGREGATE, [
        (person, code, adapt(hour), len(values), sum(values), min(values), max(values))
        for (person, code, hour), values in groups.items()],
        "ON CONFLICT (person_id, code, hour) DO UPDATE SET "
        "count = watch_hourlyaggregate.count + excluded.count, "
        "total = watch_hourlyaggregate.total + excluded.total, "
        "minimum = CASE WHEN excluded.minimum < watch_hourlyaggregate.minimum THEN excluded.minimum "
        "ELSE watch_hourlyaggregate.minimum END, "
        "maximum = CASE WHEN excluded.maximum > watch_hourlyaggregate.maximum THEN excluded.maximum "
        "ELSE watch_hourlyaggregate.maximum END")


def dead_letter(channel: str, origin: str, reason: str, payload: bytes | str) -> DeadLetter:
    """Keep a refused message with its reason (its first 2,000 characters): counted and shown, never dropped."""
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload

    def clean(value: str, size: int) -> str:  # PostgreSQL text cannot hold NUL characters: a forged payload may
        return value.replace("\x00", "\ufffd")[:size]

    return DeadLetter.objects.create(received_at=clock.now(), channel=channel, origin=clean(origin, 200),
                                     reason=clean(reason, 300), payload=clean(text, PAYLOAD_KEPT))
