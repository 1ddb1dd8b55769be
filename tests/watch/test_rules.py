"""The watch rules, one behaviour at a time: persistence against one-off artefacts, one open finding per
(person, rule) until it clears, NEWS2 bands, trends, the learned rise time, silent devices. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proactif.watch.rules import DEFAULTS, Evaluator, Finding, PersonState, Reading, Settings, merge

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 01:00 in Paris
STEP = timedelta(minutes=15)
NORMAL = {"heart_rate": 72.0, "respiratory_rate": 16.0, "temperature": 36.8, "spo2": 97.0,
          "systolic_bp": 130.0, "diastolic_bp": 78.0}


def vitals(evaluator: Evaluator, at: datetime, **changes: float) -> list[Finding]:
    return evaluator.feed(Reading("p1", at, device="d1", vitals={**NORMAL, **changes}, interval=STEP))


def run(evaluator: Evaluator, values: list[float], vital: str = "heart_rate", start: datetime = T0) -> list[Finding]:
    found: list[Finding] = []
    for n, value in enumerate(values):
        found += vitals(evaluator, start + n * STEP, **{vital: value})
    return found


def rules(findings: list[Finding], prefix: str = "") -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in findings if f.rule.startswith(prefix)]


# No bound on any vital: NEWS2 alone speaks.
UNBOUNDED = merge(DEFAULTS, {vital: dict.fromkeys(("critical_low", "warning_low", "warning_high", "critical_high"))
                             for vital in NORMAL})


def test_a_single_spike_does_not_raise() -> None:
    assert run(Evaluator(), [72, 72, 118, 72, 72, 72]) == []


def test_a_sustained_value_raises_on_the_fourth_reading() -> None:
    evaluator = Evaluator()
    assert run(evaluator, [72, 118, 118, 118]) == []
    found = vitals(evaluator, T0 + 4 * STEP, heart_rate=118)
    assert rules(found) == [("threshold:heart_rate", "warning")]
    assert found[0].value == 118 and found[0].message_fr == "fréquence cardiaque à 118 /min"


def test_persistence_by_time_with_sparse_readings() -> None:
    evaluator = Evaluator(Settings(readings=5, minutes=45))
    assert vitals(evaluator, T0, heart_rate=118) == []
    assert rules(vitals(evaluator, T0 + timedelta(minutes=50), heart_rate=118)) == [
        ("threshold:heart_rate", "warning")]


def test_a_critical_value_raises_at_once_and_an_artefact_is_discarded() -> None:
    evaluator = Evaluator(Settings(critical_readings=1))
    assert vitals(evaluator, T0, spo2=0) == []  # a probe off the finger
    assert evaluator.state("p1").discarded == 1
    assert rules(vitals(evaluator, T0 + STEP, spo2=88), "threshold") == [("threshold:spo2", "critical")]


def test_by_default_a_critical_value_waits_for_its_confirmation() -> None:
    evaluator = Evaluator()
    assert run(evaluator, [72, 38, 72, 72]) == []  # a lone pulse of 38 at night: a loose sensor
    assert rules(run(evaluator, [38, 38], start=T0 + 4 * STEP), "threshold") == [("threshold:heart_rate", "critical")]


def test_one_open_finding_per_rule_then_raises_again_after_clearing() -> None:
    evaluator = Evaluator()
    assert len(run(evaluator, [118] * 10)) == 1
    assert run(evaluator, [72, 72, 118, 118, 118, 118], start=T0 + 10 * STEP) == []  # two calm: still open
    found = run(evaluator, [72, 72, 72, 118, 118, 118, 118], start=T0 + 16 * STEP)
    assert rules(found) == [("threshold:heart_rate", "warning")]
    assert found[0].at == T0 + 22 * STEP


def test_a_warning_that_turns_critical_is_reported_once_more() -> None:
    found = run(Evaluator(), [118, 118, 118, 118, 118, 140, 140, 118])
    assert rules(found, "threshold") == [("threshold:heart_rate", "warning"), ("threshold:heart_rate", "critical")]


def test_per_person_overrides() -> None:
    copd = merge(DEFAULTS, {"spo2": {"critical_low": 85, "warning_low": 88}})
    assert copd.spo2.warning_low == 88 and copd.heart_rate == DEFAULTS.heart_rate
    evaluator = Evaluator(per_person={"p1": copd})
    assert rules(run(evaluator, [90] * 5, vital="spo2"), "threshold") == []
    assert rules(run(Evaluator(), [90] * 2, vital="spo2"), "threshold") == [("threshold:spo2", "critical")]
    with pytest.raises(ValueError, match="désordre"):
        merge(DEFAULTS, {"spo2": {"warning_low": 80}})
    with pytest.raises(ValueError, match="inconnu"):
        merge(DEFAULTS, {"glycemia": {"warning_low": 4}})


@pytest.mark.parametrize(("changes", "expected"), [
    # RR 22 → 2, SpO2 95 → 1, temperature 38.5 → 1, pulse 95 → 1: 5, medium
    ({"respiratory_rate": 22, "spo2": 95, "temperature": 38.5, "heart_rate": 95}, ("news2", "warning")),
    # RR 26 → 3, SpO2 93 → 2, pulse 115 → 2: 7, high
    ({"respiratory_rate": 26, "spo2": 93, "heart_rate": 115}, ("news2", "critical")),
    # a single red parameter (systolic 90 → 3) alone: low-medium
    ({"systolic_bp": 90}, ("news2", "warning")),
    ({"heart_rate": 95}, None),  # 1 point: low
])
def test_news2_bands_through_the_rules(changes: dict[str, float], expected: tuple[str, str] | None) -> None:
    evaluator = Evaluator(thresholds=UNBOUNDED)
    found = [f for n in range(3) for f in vitals(evaluator, T0 + n * STEP, **changes)]
    assert rules(found) == ([expected] if expected else [])
    if expected:
        assert "conscience supposée normale" in found[-1].message_fr


def test_news2_needs_a_complete_set_within_the_window() -> None:
    evaluator = Evaluator(thresholds=UNBOUNDED)
    evaluator.feed(Reading("p1", T0, vitals={"temperature": 36.8, "systolic_bp": 130}))
    later = T0 + timedelta(minutes=90)
    for n in range(3):
        found = evaluator.feed(Reading("p1", later + n * STEP,
                                       vitals={"respiratory_rate": 26, "spo2": 93, "heart_rate": 115}))
        assert [f for f in found if f.rule == "news2"] == []


def test_trend_on_a_slow_drift_below_the_thresholds() -> None:
    evaluator = Evaluator()
    found: list[Finding] = []
    for hour in range(24 * 8):
        drift = max(0, hour - 24 * 7) * 1.2  # from day 7, +1.2 /min every hour: 96 after a day
        for quarter in range(4):
            at = T0 + timedelta(hours=hour, minutes=15 * quarter)
            wobble = (-2, 1, 2, -1)[quarter] + (hour % 24 - 12) * 0.3
            found += vitals(evaluator, at, heart_rate=70 + wobble + drift)
    trend = [f for f in found if f.rule == "trend:heart_rate"]
    assert len(trend) == 1 and "en hausse" in trend[0].message_fr
    assert trend[0].at >= T0 + timedelta(days=7)
    assert trend[0].value is not None and trend[0].value < 110  # before the threshold would have raised
    assert not [f for f in found if f.rule.startswith("threshold") and f.at < trend[0].at]


def motion(evaluator: Evaluator, at: datetime) -> None:
    evaluator.feed(Reading("p1", at, device="m1", motion=True))


def test_not_up_by_the_learned_rise_time() -> None:
    evaluator = Evaluator()
    for day, minute in enumerate([0, 10, -10, 20, -5, 5]):  # up about 08:30 Paris, 07:30 UTC
        motion(evaluator, T0 + timedelta(days=day, hours=7, minutes=30 + minute))
    day7 = T0 + timedelta(days=7)
    assert evaluator.tick(day7 + timedelta(hours=8, minutes=25)) == []  # 09:25 Paris: not yet
    found = evaluator.tick(day7 + timedelta(hours=8, minutes=45))
    assert rules(found) == [("not_up", "warning")]
    assert found[0].message_fr == "aucun lever constaté à 09 h 45 (d'habitude vers 08 h 32)"
    assert evaluator.tick(day7 + timedelta(hours=9)) == []  # still open: not reported again
    motion(evaluator, day7 + timedelta(hours=9, minutes=5))
    assert "not_up" not in evaluator.state("p1").open


def test_no_movement_for_four_hours_during_the_day() -> None:
    evaluator = Evaluator()
    motion(evaluator, T0 + timedelta(hours=7))  # 08:00 Paris: up
    assert evaluator.tick(T0 + timedelta(hours=10, minutes=55)) == []
    assert rules(evaluator.tick(T0 + timedelta(hours=11))) == [("no_movement", "warning")]
    assert evaluator.tick(T0 + timedelta(hours=21)) == []  # night: not the rule's business


def test_stale_device_last_will_and_battery() -> None:
    evaluator = Evaluator()
    vitals(evaluator, T0)
    assert evaluator.tick(T0 + 3 * STEP) == []
    found = evaluator.tick(T0 + 3 * STEP + timedelta(minutes=1))
    assert rules(found) == [("device_stale:d1", "warning")]
    assert found[0].message_fr == "aucune donnée de l'appareil d1 depuis 46 min"
    vitals(evaluator, T0 + 4 * STEP)
    assert "device_stale:d1" not in evaluator.state("p1").open
    offline = evaluator.feed(Reading("p1", T0 + 5 * STEP, device="d1", status="offline"))
    assert rules(offline) == [("device_offline:d1", "warning")]
    assert evaluator.tick(T0 + 12 * STEP) == []  # offline already said: stale adds nothing
    battery = evaluator.feed(Reading("p1", T0 + 13 * STEP, device="d1", battery=12))
    assert rules(battery) == [("battery_low:d1", "info")]
    assert evaluator.feed(Reading("p1", T0 + 14 * STEP, device="d1", battery=17)) == []
    assert "battery_low:d1" in evaluator.state("p1").open
    evaluator.feed(Reading("p1", T0 + 15 * STEP, device="d1", battery=80))
    assert "battery_low:d1" not in evaluator.state("p1").open


def test_state_round_trips_through_json() -> None:
    evaluator = Evaluator()
    run(evaluator, [118] * 5)
    motion(evaluator, T0 + timedelta(hours=7))
    state = evaluator.state("p1")
    restored = PersonState.from_json(state.to_json())
    assert restored == state
    again = Evaluator()
    again.states["p1"] = restored
    assert run(again, [118] * 3, start=T0 + 6 * STEP) == []  # still open after the round trip


def test_a_fall_is_critical_at_once_and_every_time() -> None:
    evaluator = Evaluator()
    fall = T0 + timedelta(hours=12, minutes=4)  # 13:04 Paris (winter)
    found = evaluator.feed(Reading("p1", fall, device="chute-1", fall=True))
    assert rules(found) == [("fall", "critical")]
    assert found[0].message_fr == "chute détectée à 13 h 04 par l'appareil chute-1"
    assert rules(evaluator.feed(Reading("p1", fall + timedelta(minutes=1), device="chute-1", fall=True))) == [
        ("fall", "critical")]  # an event each time: the desk keeps one alert open, the rules no memory of it
