"""Readings feed the person's rules and open alerts: a one-off value raises nothing, a sustained one opens one
alert per (person, rule) however many readings follow; an agent acknowledges and resolves it with a note, each act
in the access log naming the person; the time to acknowledge is measured; GDPR export and erasure cover it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from proactif.accounts.domain import system_actor
from proactif.audit.models import AccessLog
from proactif.watch import _alerts as alerts
from proactif.watch import _gdpr as gdpr
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import Alert, RuleState
from tests.watch.test_telemetry import R

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
T0 = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)


def oximeter(person: int = 9191) -> str:
    device, _ = telemetry.register_device(f"OXY-{person}", "oxymetre", 300)
    telemetry.lend(device, person, date(2026, 7, 1))
    return device.serial


def spo2(serial: str, values: list[float], start: datetime = T0) -> None:
    for i, value in enumerate(values):
        telemetry.ingest(serial, [R("spo2", value, "%", start + timedelta(minutes=5 * i))], "mqtt")


def test_a_one_off_value_raises_nothing_a_sustained_one_opens_one_alert() -> None:
    serial = oximeter()
    spo2(serial, [97, 97, 84, 97, 97, 97])
    assert not Alert.objects.exists()
    spo2(serial, [88] * 8, start=T0 + timedelta(hours=1))
    open_alerts = Alert.objects.filter(person_id=9191).exclude(status="resolue")
    assert open_alerts.count() == 1
    alert = open_alerts.get()
    assert alert.rule == "threshold:spo2" and alert.severity in ("warning", "critical") and "88" in alert.message
    assert RuleState.objects.filter(person_id=9191).exists()


def test_an_agent_acknowledges_and_resolves_with_a_note_each_act_logged() -> None:
    serial = oximeter(9292)
    spo2(serial, [87] * 8)
    alert = Alert.objects.get(person_id=9292)
    acknowledged = alerts.acknowledge(ACTOR, alert.pk, "appelée, rappel dans 30 min")
    assert acknowledged.status == "acquittee" and acknowledged.acknowledged_by == ACTOR.label
    with pytest.raises(alerts.AlertError, match="déjà acquittée"):
        alerts.acknowledge(ACTOR, alert.pk)
    with pytest.raises(alerts.AlertError, match="avec une note"):
        alerts.resolve(ACTOR, alert.pk, " ")
    assert alerts.resolve(ACTOR, alert.pk, "oxymètre mal posé, valeurs normales ensuite").status == "resolue"
    logged = list(AccessLog.objects.filter(person_id=9292, section="veille").order_by("id").values_list(
        "action", flat=True))
    assert logged == ["acknowledge", "resolve"]
    figures = alerts.time_to_acknowledge(T0 - timedelta(days=365))
    assert figures["acknowledged"] >= 1 and figures["median_min"] >= 0


def test_the_alerts_go_with_the_persons_gdpr_handling() -> None:
    serial = oximeter(9393)
    spo2(serial, [86] * 8)
    assert gdpr.export(9393)["telesurveillance"]["alertes"][0]["regle"] == "threshold:spo2"
    assert any(item.category.startswith("alertes des appareils") for item in gdpr.plan_erasure(9393))
    gdpr.erase(9393)
    assert not Alert.objects.filter(person_id=9393).exists() and not RuleState.objects.filter(person_id=9393).exists()


def test_a_device_that_falls_silent_opens_its_alert_at_the_periodic_check() -> None:
    serial = oximeter(9494)
    spo2(serial, [97, 96, 97])
    assert alerts.tick(T0 + timedelta(minutes=20))["opened"] == 0  # within 3 × its 5-minute interval
    figures = alerts.tick(T0 + timedelta(minutes=40))
    assert figures["opened"] == 1
    alert = Alert.objects.get(person_id=9494)
    assert alert.rule == f"device_stale:{serial}" and "aucune donnée" in alert.message
    assert alerts.tick(T0 + timedelta(minutes=45))["opened"] == 0  # one open alert per (person, rule)


def test_the_periodic_check_goes_through_every_person_chunk_by_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "TICK_CHUNK", 2)  # 5 persons: 3 transactions
    for person in range(9601, 9606):
        spo2(oximeter(person), [97, 96, 97], start=T0 if person != 9605 else T0 + timedelta(minutes=30))
    figures = alerts.tick(T0 + timedelta(minutes=40))
    assert figures == {"persons": 5, "opened": 4}  # 9605 spoke 10 minutes ago
    assert set(Alert.objects.values_list("person_id", flat=True)) == {9601, 9602, 9603, 9604}
    assert alerts.tick(T0 + timedelta(minutes=45)) == {"persons": 5, "opened": 0}  # remembered: not again
    assert alerts.tick(T0 + timedelta(minutes=80))["opened"] == 1  # now 9605 too


def test_a_fall_opens_a_critical_alert_and_the_ok_button_says_the_person_is_up() -> None:
    device, _ = telemetry.register_device("CHUTE-1", "chute", 300)
    telemetry.lend(device, 9701, date(2026, 7, 1))
    telemetry.ingest("CHUTE-1", [R("fall", 1, "1", T0)], "mqtt")
    alert = Alert.objects.get(person_id=9701)
    assert (alert.rule, alert.severity, alert.status) == ("fall", "critical", "ouverte")
    telemetry.ingest("CHUTE-1", [R("fall", 1, "1", T0 + timedelta(minutes=2))], "mqtt")
    assert Alert.objects.filter(person_id=9701).count() == 1  # one open alert per person and rule
    button, _ = telemetry.register_device("BOUTON-1", "bouton", 3600)
    telemetry.lend(button, 9701, date(2026, 7, 1))
    telemetry.ingest("BOUTON-1", [R("ok_button", 1, "1", T0 + timedelta(hours=1))], "mqtt")
    state = RuleState.objects.get(person_id=9701).state
    assert f'"last_motion": {(T0 + timedelta(hours=1)).timestamp()}' in state
