"""NEWS2 against the Royal College of Physicians' chart (National Early Warning Score (NEWS) 2, RCP, London, 2017):
"Chart 1: The NEWS scoring system" for the points, "Chart 2: NEWS thresholds and triggers" for the bands. Every
column edge of every row is tried from both sides. No test here touches the database (pytest-django refuses any
access without a django_db mark): the score and its command need none."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from proactif.cli import main
from proactif.watch.news2 import News2, ObservationError, Observations, band, score

# Every parameter in its 0-point column: the aggregate is 0, so each table below shows one row alone.
NORMAL: dict[str, Any] = {"respiration_rate": 16, "spo2": 97, "spo2_scale": 1, "oxygen": False,
                          "systolic_bp": 120, "pulse": 70, "consciousness": "A", "temperature": 37.0}


def news2(**changes: Any) -> News2:
    return score(Observations(**{**NORMAL, **changes}))


# Chart 1, "Respiration rate (per minute)": ≤8 → 3 | 9–11 → 1 | 12–20 → 0 | 21–24 → 2 | ≥25 → 3
@pytest.mark.parametrize(("rate", "points"), [
    (0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (80, 3),
])
def test_respiration_rate(rate: int, points: int) -> None:
    result = news2(respiration_rate=rate)
    assert result.parameters["respiration_rate"].points == points == result.score


# Chart 1, "SpO2 Scale 1 (%)": ≤91 → 3 | 92–93 → 2 | 94–95 → 1 | ≥96 → 0; "Air or oxygen?": oxygen → 2, air → 0
@pytest.mark.parametrize(("spo2", "points"), [
    (0, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0),
])
@pytest.mark.parametrize(("oxygen", "oxygen_points"), [(False, 0), (True, 2)])
def test_spo2_scale_1_is_the_same_on_air_and_on_oxygen(spo2: int, points: int, oxygen: bool,
                                                       oxygen_points: int) -> None:
    result = news2(spo2=spo2, oxygen=oxygen)
    assert result.parameters["spo2"].points == points
    assert result.parameters["air_or_oxygen"].points == oxygen_points
    assert result.parameters["air_or_oxygen"].value == ("oxygen" if oxygen else "air")
    assert result.score == points + oxygen_points and result.spo2_scale == 1


# Chart 1, "SpO2 Scale 2 (%)": ≤83 → 3 | 84–85 → 2 | 86–87 → 1 | 88–92 or ≥93 on air → 0
SCALE_2_AIR = [(0, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 0), (97, 0), (100, 0)]
# ... and on oxygen: 88–92 → 0 | 93–94 → 1 | 95–96 → 2 | ≥97 → 3 (above the 88–92 % target scores again)
SCALE_2_OXYGEN = [(0, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 1), (94, 1), (95, 2),
                  (96, 2), (97, 3), (100, 3)]


@pytest.mark.parametrize(("spo2", "points"), SCALE_2_AIR)
def test_spo2_scale_2_on_air(spo2: int, points: int) -> None:
    result = news2(spo2=spo2, spo2_scale=2)
    assert result.parameters["spo2"].points == points == result.score and result.spo2_scale == 2


@pytest.mark.parametrize(("spo2", "points"), SCALE_2_OXYGEN)
def test_spo2_scale_2_on_oxygen_adds_the_oxygen_row(spo2: int, points: int) -> None:
    result = news2(spo2=spo2, spo2_scale=2, oxygen=True)
    assert result.parameters["spo2"].points == points
    assert result.score == points + 2


# Chart 1, "Systolic blood pressure (mmHg)": ≤90 → 3 | 91–100 → 2 | 101–110 → 1 | 111–219 → 0 | ≥220 → 3
@pytest.mark.parametrize(("pressure", "points"), [
    (0, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (300, 3),
])
def test_systolic_blood_pressure(pressure: int, points: int) -> None:
    result = news2(systolic_bp=pressure)
    assert result.parameters["systolic_bp"].points == points == result.score


# Chart 1, "Pulse (per minute)": ≤40 → 3 | 41–50 → 1 | 51–90 → 0 | 91–110 → 1 | 111–130 → 2 | ≥131 → 3
@pytest.mark.parametrize(("pulse", "points"), [
    (0, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3), (300, 3),
])
def test_pulse(pulse: int, points: int) -> None:
    result = news2(pulse=pulse)
    assert result.parameters["pulse"].points == points == result.score


# Chart 1, "Consciousness": Alert → 0 | CVPU (new confusion, voice, pain, unresponsive) → 3; read in any case
@pytest.mark.parametrize(("letter", "read", "points"), [
    ("A", "A", 0), ("a", "A", 0), (" a ", "A", 0), ("C", "C", 3), ("c", "C", 3), ("V", "V", 3), ("v", "V", 3),
    (" v\n", "V", 3), ("P", "P", 3), ("p", "P", 3), ("U", "U", 3), ("u", "U", 3),
])
def test_consciousness(letter: str, read: str, points: int) -> None:
    result = news2(consciousness=letter)
    assert result.parameters["consciousness"].value == read
    assert result.parameters["consciousness"].points == points == result.score


# Chart 1, "Temperature (°C)": ≤35.0 → 3 | 35.1–36.0 → 1 | 36.1–38.0 → 0 | 38.1–39.0 → 1 | ≥39.1 → 2
@pytest.mark.parametrize(("temperature", "points"), [
    (25, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2), (45, 2),
])
def test_temperature(temperature: float, points: int) -> None:
    result = news2(temperature=temperature)
    assert result.parameters["temperature"].points == points == result.score


# Between the chart's columns: one decimal, half up, then the chart (35.05 is stored as 35.04999… in binary and
# still goes up: the float is read through its shortest decimal form)
@pytest.mark.parametrize(("temperature", "read", "points"), [
    (35.04, "35.0", 3), (35.05, "35.1", 1), (Decimal("35.05"), "35.1", 1), (36.04, "36.0", 1), (36.05, "36.1", 0),
    (38.04, "38.0", 0), (38.05, "38.1", 1), (39.04, "39.0", 1), (39.05, "39.1", 2), (37, "37.0", 0),
    (Decimal("38.149"), "38.1", 1),
])
def test_temperatures_between_the_columns_round_to_a_tenth_half_up(temperature: float | Decimal, read: str,
                                                                    points: int) -> None:
    result = news2(temperature=temperature)
    assert result.parameters["temperature"].value == Decimal(read)
    assert result.parameters["temperature"].points == points


@pytest.mark.parametrize(("field", "value", "read"), [
    ("respiration_rate", 20.0, 20), ("spo2", 96.0, 96), ("systolic_bp", Decimal("111"), 111),
    ("pulse", Decimal("90.00"), 90),
])
def test_a_whole_number_written_as_a_decimal_is_taken(field: str, value: float | Decimal, read: int) -> None:
    assert news2(**{field: value}).parameters[field].value == read


# Chart 2: 0–4 low; a single parameter at 3 with an aggregate under 5 low–medium; 5–6 medium; 7 or more high
@pytest.mark.parametrize(("changes", "total", "expected", "red"), [
    ({}, 0, "low", ()),
    ({"respiration_rate": 21, "pulse": 111}, 4, "low", ()),
    ({"consciousness": "V"}, 3, "low-medium", ("consciousness",)),
    ({"consciousness": "C", "temperature": 35.1}, 4, "low-medium", ("consciousness",)),
    ({"respiration_rate": 21, "pulse": 111, "temperature": 38.1}, 5, "medium", ()),
    ({"consciousness": "C", "respiration_rate": 21}, 5, "medium", ("consciousness",)),
    ({"respiration_rate": 21, "pulse": 111, "systolic_bp": 100}, 6, "medium", ()),
    ({"respiration_rate": 21, "pulse": 111, "systolic_bp": 100, "temperature": 38.1}, 7, "high", ()),
    ({"spo2": 91, "oxygen": True, "systolic_bp": 100}, 7, "high", ("spo2",)),
    ({"respiration_rate": 8, "spo2": 91, "oxygen": True, "systolic_bp": 90, "pulse": 40, "consciousness": "U",
      "temperature": 35.0}, 20, "high",
     ("respiration_rate", "spo2", "systolic_bp", "pulse", "consciousness", "temperature")),
    ({"respiration_rate": 25, "spo2": 97, "spo2_scale": 2, "oxygen": True, "systolic_bp": 220, "pulse": 131,
      "consciousness": "P", "temperature": 34}, 20, "high",
     ("respiration_rate", "spo2", "systolic_bp", "pulse", "consciousness", "temperature")),
])
def test_bands(changes: dict[str, Any], total: int, expected: str, red: tuple[str, ...]) -> None:
    result = news2(**changes)
    assert (result.score, result.band, result.red_parameters) == (total, expected, red)
    assert result.score == sum(p.points for p in result.parameters.values())


@pytest.mark.parametrize(("total", "any_red", "expected"), [
    (0, False, "low"), (4, False, "low"), (0, True, "low-medium"), (4, True, "low-medium"), (5, False, "medium"),
    (5, True, "medium"), (6, True, "medium"), (7, False, "high"), (7, True, "high"), (20, True, "high"),
])
def test_band_edges(total: int, any_red: bool, expected: str) -> None:
    assert band(total, any_red) == expected


@pytest.mark.parametrize("total", [-1, 21])
def test_a_score_outside_0_to_20_has_no_band(total: int) -> None:
    with pytest.raises(ValueError, match="hors de 0 à 20"):
        band(total, False)


def test_the_result_lists_every_row_in_the_charts_order_and_reads_as_json() -> None:
    result = news2(respiration_rate=22, spo2=95, systolic_bp=105, pulse=112, temperature=38.4)
    assert json.loads(json.dumps(result.as_dict())) == {
        "score": 7, "band": "high", "spo2_scale": 1, "red_parameters": [],
        "parameters": {"respiration_rate": {"value": 22, "points": 2}, "spo2": {"value": 95, "points": 1},
                       "air_or_oxygen": {"value": "air", "points": 0}, "systolic_bp": {"value": 105, "points": 1},
                       "pulse": {"value": 112, "points": 2}, "consciousness": {"value": "A", "points": 0},
                       "temperature": {"value": 38.4, "points": 1}}}


# Impossible or unreadable values: a ValueError naming the parameter in French, on one line
@pytest.mark.parametrize(("field", "value", "words"), [
    ("respiration_rate", -1, "fréquence respiratoire : -1 par minute hors des valeurs possibles (0 à 80"),
    ("respiration_rate", 81, "fréquence respiratoire : 81 par minute hors"),
    ("respiration_rate", 20.5, "fréquence respiratoire : 20,5 n'est pas un nombre entier"),
    ("respiration_rate", True, "fréquence respiratoire : « True » n'est pas un nombre"),
    ("spo2", 101, "SpO2 : 101 % hors des valeurs possibles (0 à 100 %)"),
    ("spo2", -1, "SpO2 : -1 % hors"),
    ("spo2", 95.5, "SpO2 : 95,5 n'est pas un nombre entier"),
    ("spo2", 0.95, "SpO2 : 0,95 n'est pas un nombre entier"),
    ("spo2", "96", "SpO2 : « 96 » n'est pas un nombre"),
    ("spo2", None, "SpO2 : « None » n'est pas un nombre"),
    ("systolic_bp", 301, "pression artérielle systolique : 301 mmHg hors"),
    ("systolic_bp", -5, "pression artérielle systolique : -5 mmHg hors"),
    ("systolic_bp", 100.5, "pression artérielle systolique : 100,5 n'est pas un nombre entier"),
    ("pulse", 301, "pouls : 301 par minute hors"),
    ("pulse", float("nan"), "pouls : « nan » n'est pas un nombre"),
    ("pulse", Decimal("90.5"), "pouls : 90,5 n'est pas un nombre entier"),
    ("temperature", 24.9, "température : 24,9 °C hors des valeurs possibles (25 à 45 °C)"),
    ("temperature", 45.1, "température : 45,1 °C hors"),
    ("temperature", -37, "température : -37 °C hors"),
    ("temperature", float("inf"), "température : « inf » n'est pas un nombre"),
    ("temperature", "37.5", "température : « 37.5 » n'est pas un nombre"),
    ("consciousness", "X", "conscience (ACVPU) : « X » inconnu (A, C, V, P ou U attendu)"),
    ("consciousness", "", "conscience (ACVPU) : «  » inconnu"),
    ("consciousness", "alert", "conscience (ACVPU) : « alert » inconnu"),
    ("consciousness", "AV", "conscience (ACVPU) : « AV » inconnu"),
    ("consciousness", None, "conscience (ACVPU) : « None » inconnu"),
    ("spo2_scale", 3, "échelle de SpO2 : « 3 » inconnue (1, ou 2 sur décision clinique)"),
    ("spo2_scale", 0, "échelle de SpO2 : « 0 » inconnue"),
    ("spo2_scale", True, "échelle de SpO2 : « True » inconnue"),
    ("oxygen", "oui", "air ou oxygène : « oui » n'est ni l'air ni l'oxygène"),
])
def test_impossible_values_are_refused_naming_the_parameter(field: str, value: Any, words: str) -> None:
    with pytest.raises(ObservationError) as refused:
        Observations(**{**NORMAL, field: value})
    assert isinstance(refused.value, ValueError)
    assert refused.value.field == field
    assert str(refused.value).startswith(words) and "\n" not in str(refused.value)


# --- the command ---------------------------------------------------------------------------------------------------

VITALS = ["--rr", "22", "--spo2", "95", "--sbp", "105", "--hr", "112", "--acvpu", "A", "--temp", "38.4"]


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["watch", "news2", *args])


def test_the_command_prints_one_json_object() -> None:
    result = run(*VITALS, "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    printed = json.loads(result.stdout)
    assert (printed["score"], printed["band"], printed["red_parameters"]) == (7, "high", [])
    assert printed["parameters"]["temperature"] == {"value": 38.4, "points": 1}
    assert list(printed["parameters"]) == ["respiration_rate", "spo2", "air_or_oxygen", "systolic_bp", "pulse",
                                           "consciousness", "temperature"]


def test_the_command_takes_scale_2_oxygen_a_decimal_comma_and_a_lower_case_letter() -> None:
    result = run("--rr", "18", "--spo2", "95", "--scale", "2", "--oxygen", "--sbp", "120", "--hr", "80",
                 "--acvpu", "c", "--temp", "35,05", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["spo2_scale"] == 2
    assert printed["parameters"]["spo2"] == {"value": 95, "points": 2}
    assert printed["parameters"]["air_or_oxygen"] == {"value": "oxygen", "points": 2}
    assert printed["parameters"]["consciousness"] == {"value": "C", "points": 3}
    assert printed["parameters"]["temperature"] == {"value": 35.1, "points": 1}
    assert (printed["score"], printed["band"], printed["red_parameters"]) == (8, "high", ["consciousness"])


def test_the_command_without_json_prints_a_french_summary() -> None:
    result = run(*VITALS[:-4], "--acvpu", "v", "--temp", "37")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "NEWS2 : 9 sur 20 — risque clinique élevé"
    assert any(line.split()[:3] == ["température", "37,0", "°C"] and line.endswith("0 point") for line in lines)
    assert any(line.split()[:3] == ["conscience", "(ACVPU)", "V"] and line.endswith("3 points") for line in lines)
    assert "15 (SAMU)" in lines[-1]


@pytest.mark.parametrize(("args", "words"), [
    (["--acvpu", "X"], "--acvpu — conscience (ACVPU) : « X » inconnu"),
    (["--temp", "abc"], "--temp — « abc » n'est pas un nombre"),
    (["--temp", "nan"], "--temp — « nan » n'est pas un nombre"),
    (["--temp", "46"], "--temp — température : 46 °C hors des valeurs possibles"),
    (["--scale", "3"], "--scale"),
    (["--spo2", "101"], "--spo2 — SpO2 : 101 % hors des valeurs possibles (0 à 100 %)"),
    (["--spo2", "95.5"], "--spo2 — SpO2 : 95,5 n'est pas un nombre entier"),
    (["--rr", "-1"], "--rr — fréquence respiratoire : -1 par minute hors"),
    (["--hr", "301"], "--hr — pouls : 301 par minute hors"),
    (["--sbp", "1e400"], "--sbp — pression artérielle systolique : 1E+400 mmHg hors"),
])
def test_a_bad_value_exits_2_with_one_line(args: list[str], words: str) -> None:
    vitals = dict(zip(VITALS[::2], VITALS[1::2], strict=True))
    vitals.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run(*[part for pair in vitals.items() for part in pair], "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
    assert words in result.stderr
