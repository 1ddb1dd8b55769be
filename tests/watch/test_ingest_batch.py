"""The MQTT ingester stores many messages a transaction: a batch gives exactly what the same messages one by one
would — each reading once (a copy inside the batch too), refusals in the dead-letter list with their reason, a
device's state in message order — and a batch that fails is retried message by message, so one bad message holds
no other back and is left unacknowledged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import DeadLetter, Device, HourlyAggregate, Observation, RuleState

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)


def lent(serial: str, person: int) -> Device:
    device, _token = telemetry.register_device(serial, "constantes", 300)
    telemetry.lend(device, person, date(2026, 7, 1))
    return device


def body(at: datetime, battery: int | None = None, **values: float) -> bytes:
    data: dict[str, Any] = {"mesures": [{"code": code, "valeur": value, "le": at.isoformat()}
                                        for code, value in values.items()]}
    if battery is not None:
        data["batterie"] = battery
    return json.dumps(data).encode()


def topic(serial: str, kind: str = "mesures") -> str:
    return f"veille/appareils/{serial}/{kind}"


def test_a_batch_stores_each_reading_once_and_refuses_what_it_must_with_the_reason() -> None:
    a, b = lent("BATCH-A", 501), lent("BATCH-B", 502)
    later = T0 + timedelta(minutes=5)
    messages = [
        (topic("BATCH-A"), body(T0, 80, spo2=95, heart_rate=70)),
        (topic("BATCH-B"), body(T0, spo2=97)),
        (topic("BATCH-A"), body(T0, spo2=95)),  # the broker's second copy, inside the same batch
        (topic("NOPE"), body(T0, spo2=90)),
        (topic("BATCH-B"), b"{not json"),
        (topic("BATCH-A"), body(later, 79, spo2=94)),
        ("ailleurs/BATCH-A/mesures", body(T0, spo2=90)),
    ]
    assert mqtt_ingest.handle_batch(messages) == ["stored", "stored", "stored", "refused", "refused", "stored",
                                                  "refused"]
    assert Observation.objects.filter(device=a).count() == 3 and Observation.objects.filter(device=b).count() == 1
    spo2 = HourlyAggregate.objects.get(person_id=501, code="spo2", hour=T0)
    assert (spo2.count, spo2.minimum, spo2.maximum) == (2, 94, 95)  # the copy was not counted twice
    a.refresh_from_db()
    assert (a.state, a.battery, a.last_seen_at) == ("en_ligne", 79, later)
    assert sorted(DeadLetter.objects.values_list("reason", flat=True)) == [
        "JSON illisible (JSONDecodeError)", "appareil inconnu", "sujet inconnu : ailleurs/BATCH-A/mesures"]
    assert set(RuleState.objects.values_list("person_id", flat=True)) == {501, 502}
    # the same messages again change nothing: every reading is already there
    assert mqtt_ingest.handle_batch(messages[:3]) == ["stored"] * 3
    assert Observation.objects.count() == 4


def test_a_batch_gives_what_the_same_messages_give_one_by_one() -> None:
    serials = [f"SAME-{i}" for i in range(4)]
    for i, serial in enumerate(serials):
        lent(serial, 600 + i)
    messages = [(topic(serials[k % 4]), body(T0 + timedelta(minutes=15 * (k // 4)), 90 - k,
                                             spo2=96 - (k % 3), heart_rate=70 + k % 5, respiratory_rate=16))
                for k in range(40)]
    mqtt_ingest.handle_batch(messages)
    batched = (sorted(Observation.objects.values_list("person_id", "code", "at", "value")),
               sorted(HourlyAggregate.objects.values_list("person_id", "code", "hour", "count", "total")),
               dict(RuleState.objects.values_list("person_id", "state")),
               sorted(Device.objects.values_list("serial", "battery", "last_seen_at")))
    Observation.objects.all().delete()
    HourlyAggregate.objects.all().delete()
    RuleState.objects.all().delete()
    for message in messages:
        mqtt_ingest.handle(*message)
    one_by_one = (sorted(Observation.objects.values_list("person_id", "code", "at", "value")),
                  sorted(HourlyAggregate.objects.values_list("person_id", "code", "hour", "count", "total")),
                  dict(RuleState.objects.values_list("person_id", "state")),
                  sorted(Device.objects.values_list("serial", "battery", "last_seen_at")))
    assert batched == one_by_one
    assert len(batched[0]) == 120


def test_a_state_message_counts_in_message_order() -> None:
    device = lent("STATE-1", 701)
    # offline said, then a reading: online; a reading, then the Last Will: offline
    assert mqtt_ingest.handle_batch([(topic("STATE-1", "etat"), b"hors_ligne"),
                                     (topic("STATE-1"), body(T0, spo2=95))]) == ["state", "stored"]
    device.refresh_from_db()
    assert device.state == "en_ligne"
    assert mqtt_ingest.handle_batch([(topic("STATE-1"), body(T0 + timedelta(minutes=5), spo2=95)),
                                     (topic("STATE-1", "etat"), b"hors_ligne"),
                                     (topic("STATE-2", "etat"), b"en_ligne"),
                                     (topic("STATE-1", "etat"), b"perdu")]) == ["stored", "state", "refused",
                                                                                 "refused"]
    device.refresh_from_db()
    assert device.state == "hors_ligne"
    assert sorted(DeadLetter.objects.values_list("reason", flat=True)) == ["appareil inconnu",
                                                                           "état inconnu : perdu"]


@dataclass
class Message:
    topic: str
    payload: bytes
    mid: int
    qos: int = 1


@dataclass
class FakeClient:
    acked: list[int] = field(default_factory=list)

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append(mid)


def test_a_failing_batch_is_retried_one_message_at_a_time_and_only_the_failing_one_stays_unacknowledged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lent("FAIL-1", 801)
    real = telemetry.ingest_many

    def flaky(deliveries: list[telemetry.Delivery], source: str) -> telemetry.Ingested:
        if any(r.value == 13 for d in deliveries for r in d.readings):
            raise RuntimeError("base indisponible")  # as the database would, for this message only
        return real(deliveries, source)

    monkeypatch.setattr(telemetry, "ingest_many", flaky)
    ingester = mqtt_ingest.Ingester("127.0.0.1", 1)
    ingester.client = FakeClient()  # type: ignore[assignment]
    batch = [Message(topic("FAIL-1"), body(T0 + timedelta(minutes=k), heart_rate=13 if k == 1 else 70), mid=k + 1)
             for k in range(3)]
    ingester._process(batch)
    assert ingester.client.acked == [1, 3]  # type: ignore[attr-defined]
    assert ingester.counts == {"stored": 2, "state": 0, "refused": 0}
    assert Observation.objects.count() == 2
    # the failing one is queued again (the database may be back a second later), a few times at most
    retried = [ingester._queue.get_nowait()]
    assert retried[0].mid == 2
    monkeypatch.setattr(telemetry, "ingest_many", real)  # the database is back
    ingester._process(retried)
    assert ingester.client.acked == [1, 3, 2] and Observation.objects.count() == 3  # type: ignore[attr-defined]


def test_a_message_that_keeps_failing_is_left_to_the_broker_after_a_few_attempts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "ingest_many", lambda *args: (_ for _ in ()).throw(RuntimeError("panne")))
    ingester = mqtt_ingest.Ingester("127.0.0.1", 1)
    ingester.client = FakeClient()  # type: ignore[assignment]
    monkeypatch.setattr(ingester._stopping, "wait", lambda seconds: False)  # no second's pause in a test
    message = Message(topic("GONE-1"), body(T0, spo2=95), mid=7)
    attempts = 0
    pending = [message]
    while pending:
        ingester._process(pending)
        attempts += 1
        pending = [ingester._queue.get_nowait()] if not ingester._queue.empty() else []
    assert attempts == mqtt_ingest.RETRIES and ingester.client.acked == []  # type: ignore[attr-defined]
    assert ingester._attempts == {}  # a later message with the same id starts afresh


@pytest.mark.parametrize("value", ["Infinity", "NaN", "1" + "0" * 400, "true", '"97"'])
def test_a_value_that_is_not_a_finite_number_is_refused_with_its_place(value: str) -> None:
    lent("NUM-1", 901)
    payload = ('{"mesures": [{"code": "spo2", "valeur": 97, "le": "2026-07-14T08:00:00Z"}, '
               f'{{"code": "heart_rate", "valeur": {value}, "le": "2026-07-14T08:00:00Z"}}]}}').encode()
    assert mqtt_ingest.handle_batch([(topic("NUM-1"), payload)]) == ["refused"]
    assert DeadLetter.objects.get().reason == "mesures[1].valeur : nombre attendu"
    assert not Observation.objects.exists()  # the message is refused whole: nothing half-stored
