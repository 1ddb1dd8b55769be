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
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from django.db import connection, transaction

from proactif.kernel import clock
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


def _person_at(loans: list[DeviceLoan], at: datetime) -> int | None:
    day = at.astimezone(clock.local_tz()).date()
    for loan in loans:
        if loan.start_on <= day and (loan.end_on is None or day <= loan.end_on):
            return loan.person_id
    return None


def ingest(serial: str, readings: Sequence[Reading], source: str, battery: int | None = None) -> dict[str, int]:
    """Store a device's readings once each — a reading already there (same device, time and code) is left as it
    is — update the hourly aggregates with the new ones only, and the device's last contact. Returns the counts
    stored and duplicates. `UnknownDevice` for a serial no device has."""
    if source not in SOURCES:
        raise ValueError(f"source inconnue : {source}")
    device = Device.objects.filter(serial=serial).first()
    if device is None:
        raise UnknownDevice(serial)
    loans = list(DeviceLoan.objects.filter(device=device))
    now = clock.now()
    rows = [(device.pk, _person_at(loans, r.at), r.code, r.at, float(r.value), r.unit, source, now)
            for r in readings]
    with transaction.atomic():
        stored = _insert_new(rows)
        _aggregate(stored)
        from proactif.watch import _alerts as alerts  # the rules read the stored rows: after them, same transaction

        alerts.evaluate(stored)
        latest = max((r.at for r in readings), default=None)
        fields: dict[str, Any] = {"state": "en_ligne"}
        if latest is not None and (device.last_seen_at is None or latest > device.last_seen_at):
            fields["last_seen_at"] = latest
        if battery is not None and 0 <= battery <= 100:
            fields["battery"] = battery
        Device.objects.filter(pk=device.pk).update(**fields)
    return {"stored": len(stored), "duplicates": len(rows) - len(stored)}


def _insert_new(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING (both databases): the rows actually new, nothing else."""
    if not rows:
        return []
    ops = connection.ops
    values = [(device, person, code, ops.adapt_datetimefield_value(at), value, unit, source,
               ops.adapt_datetimefield_value(received)) for device, person, code, at, value, unit, source, received
              in rows]
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO watch_observation (device_id, person_id, code, at, value, unit, source, received_at) "
            f"VALUES {placeholders} ON CONFLICT (device_id, at, code) DO NOTHING RETURNING device_id, code, at",
            [v for row in values for v in row])
        inserted = {(device, code, _instant(at)) for device, code, at in cursor.fetchall()}
    return [row for row in rows if (row[0], row[2], row[3].timestamp()) in inserted]


def _instant(value: Any) -> float:
    """A returned timestamp as epoch seconds: PostgreSQL gives an aware datetime, SQLite the stored UTC text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite keeps UTC without an offset
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def _aggregate(rows: Iterable[tuple[Any, ...]]) -> None:
    """Add the new readings to their person's hourly aggregates (an upsert per person, code and hour)."""
    groups: dict[tuple[int, str, datetime], list[float]] = defaultdict(list)
    for _device, person, code, at, value, *_ in rows:
        if person is not None:
            groups[(person, code, at.replace(minute=0, second=0, microsecond=0))].append(value)
    if not groups:
        return
    ops = connection.ops
    with connection.cursor() as cursor:
        for (person, code, hour), values in groups.items():
            cursor.execute(
                "INSERT INTO watch_hourlyaggregate (person_id, code, hour, count, total, minimum, maximum) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (person_id, code, hour) DO UPDATE SET "
                "count = watch_hourlyaggregate.count + excluded.count, "
                "total = watch_hourlyaggregate.total + excluded.total, "
                "minimum = CASE WHEN excluded.minimum < watch_hourlyaggregate.minimum THEN excluded.minimum "
                "ELSE watch_hourlyaggregate.minimum END, "
                "maximum = CASE WHEN excluded.maximum > watch_hourlyaggregate.maximum THEN excluded.maximum "
                "ELSE watch_hourlyaggregate.maximum END",
                [person, code, ops.adapt_datetimefield_value(hour), len(values), sum(values), min(values),
                 max(values)])


def dead_letter(channel: str, origin: str, reason: str, payload: bytes | str) -> DeadLetter:
    """Keep a refused message with its reason (its first 2,000 characters): counted and shown, never dropped."""
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload

    def clean(value: str, size: int) -> str:  # PostgreSQL text cannot hold NUL characters: a forged payload may
        return value.replace("\x00", "\ufffd")[:size]

    return DeadLetter.objects.create(received_at=clock.now(), channel=channel, origin=clean(origin, 200),
                                     reason=clean(reason, 300), payload=clean(text, PAYLOAD_KEPT))
