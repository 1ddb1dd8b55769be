"""Home devices' readings: stored once per (device, time, code) whatever the transport delivers twice or late,
attached to the person the device was lent to at that time, summed into hourly aggregates once, the device's last
contact and battery kept; a device's own token; refused messages kept with their reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from proactif.watch import _telemetry as telemetry
from proactif.watch.models import DeadLetter, Device, HourlyAggregate, Observation

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class R:
    code: str
    value: float
    unit: str
    at: datetime


def lent(serial: str = "OXY-0001") -> Device:
    device, token = telemetry.register_device(serial, "oxymetre", 300)
    assert telemetry.device_for_token(serial, token) == device
    assert telemetry.device_for_token(serial, token + "x") is None
    telemetry.lend(device, 4242, date(2026, 7, 1))
    return device


def test_a_reading_is_stored_once_whatever_comes_twice_or_late() -> None:
    device = lent()
    batch = [R("spo2", 95, "%", T0), R("heart_rate", 80, "/min", T0), R("spo2", 94, "%", T0 + timedelta(minutes=5))]
    assert telemetry.ingest(device.serial, batch, "mqtt", battery=87) == {"stored": 3, "duplicates": 0}
    assert telemetry.ingest(device.serial, batch[:2], "mqtt") == {"stored": 0, "duplicates": 2}
    late = [R("spo2", 96, "%", T0 - timedelta(minutes=5)), R("spo2", 95, "%", T0)]
    assert telemetry.ingest(device.serial, late, "fhir") == {"stored": 1, "duplicates": 1}
    assert Observation.objects.filter(device=device).count() == 4
    assert set(Observation.objects.values_list("person_id", flat=True)) == {4242}
    device.refresh_from_db()
    assert (device.state, device.battery, device.last_seen_at) == ("en_ligne", 87, T0 + timedelta(minutes=5))
    hourly = HourlyAggregate.objects.get(person_id=4242, code="spo2", hour=T0)
    assert (hourly.count, hourly.mean, hourly.minimum, hourly.maximum) == (2, 94.5, 94, 95)  # 07:55 is another hour


def test_a_reading_before_the_loan_belongs_to_nobody_and_an_unknown_device_is_refused() -> None:
    device = lent("OXY-0002")
    telemetry.ingest(device.serial, [R("spo2", 97, "%", datetime(2026, 6, 20, 8, tzinfo=UTC))], "mqtt")
    assert Observation.objects.get(device=device).person_id is None
    assert not HourlyAggregate.objects.exists()
    with pytest.raises(telemetry.UnknownDevice):
        telemetry.ingest("NOPE", [R("spo2", 97, "%", T0)], "mqtt")
    letter = telemetry.dead_letter("mqtt", "veille/appareils/NOPE/mesures", "appareil inconnu", b"\xff{bad")
    assert DeadLetter.objects.get(pk=letter.pk).payload.endswith("{bad")
