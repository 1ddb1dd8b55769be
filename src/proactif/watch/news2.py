"""NEWS2, the National Early Warning Score 2 of the Royal College of Physicians (RCP, London, 2017): one set of
vital signs in, an aggregate score 0–20 and a clinical risk band out. Pure: no Django, no I/O.

The tables below are the chart's rows ("Chart 1: The NEWS scoring system", © RCP 2017), read left to right: each
row is (highest value of the column, points); the last column is open-ended. Bands are "Chart 2: NEWS thresholds
and triggers": aggregate 0–4 low, or low–medium when a single parameter scores 3 (a red cell), 5–6 medium, 7 or
more high.

Values between the chart's columns — the rule, stated once:
- temperature is charted at 0.1 °C and its columns touch (35.0 | 35.1): a reading is rounded to one decimal,
  half up, before it is looked up (35.05 → 35.1 → 1 point; 35.04 → 35.0 → 3 points);
- respiration rate, SpO2, systolic pressure and pulse are charted in whole numbers, as monitors show them: a
  whole value written as a decimal (96.0) is taken, a fraction (95.5) is refused. Rounding it would pick a column
  the chart does not give, and a fraction there is more often a unit slip (SpO2 written 0.95) than a reading.

A score is a prompt for a human to look, never a diagnosis: the platform is a social watch, not a medical device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

Band = Literal["low", "low-medium", "medium", "high"]
Number = int | float | Decimal

ACVPU = ("A", "C", "V", "P", "U")  # Alert, new Confusion, responds to Voice, to Pain, Unresponsive
RED = 3  # a single parameter at 3 points: the chart's red cell
MAX_SCORE = 20
OPEN = math.inf  # the last column of a row has no upper bound

# (highest value of the column, points), in the chart's order
RESPIRATION_RATE: tuple[tuple[float, int], ...] = ((8, 3), (11, 1), (20, 0), (24, 2), (OPEN, 3))
SPO2_SCALE_1: tuple[tuple[float, int], ...] = ((91, 3), (93, 2), (95, 1), (OPEN, 0))
# Scale 2 (target 88–92 %, hypercapnic respiratory failure, on a clinician's decision): on air every reading from
# 88 up scores 0; on oxygen, readings above the target score again (93–94 → 1, 95–96 → 2, ≥97 → 3).
SPO2_SCALE_2_AIR: tuple[tuple[float, int], ...] = ((83, 3), (85, 2), (87, 1), (OPEN, 0))
SPO2_SCALE_2_OXYGEN: tuple[tuple[float, int], ...] = ((83, 3), (85, 2), (87, 1), (92, 0), (94, 1), (96, 2),
                                                      (OPEN, 3))
OXYGEN_POINTS = 2  # "Air or oxygen?": oxygen 2, air 0 — on either SpO2 scale
SYSTOLIC_BP: tuple[tuple[float, int], ...] = ((90, 3), (100, 2), (110, 1), (219, 0), (OPEN, 3))
PULSE: tuple[tuple[float, int], ...] = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (OPEN, 3))
TEMPERATURE: tuple[tuple[Decimal | float, int], ...] = ((Decimal("35.0"), 3), (Decimal("36.0"), 1),
                                                        (Decimal("38.0"), 0), (Decimal("39.0"), 1), (OPEN, 2))

# French names for messages and summaries, and the physiologically possible range (inclusive) of each measure:
# beyond it the reading is a typing or device error, not a patient.
LABELS = {
    "respiration_rate": "fréquence respiratoire",
    "spo2": "SpO2",
    "spo2_scale": "échelle de SpO2",
    "air_or_oxygen": "air ou oxygène",
    "oxygen": "air ou oxygène",  # the Observations field of the air_or_oxygen row
    "systolic_bp": "pression artérielle systolique",
    "pulse": "pouls",
    "consciousness": "conscience (ACVPU)",
    "temperature": "température",
}
UNITS = {"respiration_rate": "par minute", "spo2": "%", "systolic_bp": "mmHg", "pulse": "par minute",
         "temperature": "°C"}
POSSIBLE: dict[str, tuple[Number, Number]] = {
    "respiration_rate": (0, 80),
    "spo2": (0, 100),
    "systolic_bp": (0, 300),
    "pulse": (0, 300),
    "temperature": (25, 45),
}
BAND_LABELS: dict[Band, str] = {
    "low": "faible",
    "low-medium": "faible à moyen (un paramètre à 3)",
    "medium": "moyen",
    "high": "élevé",
}


class ObservationError(ValueError):
    """A vital sign that cannot be scored: the Observations field it was given in and a one-line French reason
    that names the parameter."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{LABELS[field]} : {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class Observations:
    """One set of vital signs taken together, in the chart's order. Checked when built: a set that exists can be
    scored. `consciousness` is an ACVPU letter in any case; `spo2_scale` is 2 only on a clinician's decision."""

    respiration_rate: Number
    spo2: Number
    spo2_scale: int = 1
    oxygen: bool = False
    systolic_bp: Number
    pulse: Number
    consciousness: str
    temperature: Number

    def __post_init__(self) -> None:
        _read(self)


@dataclass(frozen=True)
class Parameter:
    """One row of the chart: the value looked up (after the rounding rule) and its points."""

    value: int | Decimal | str
    points: int


@dataclass(frozen=True)
class News2:
    score: int
    band: Band
    spo2_scale: int
    parameters: dict[str, Parameter]  # in the chart's order
    red_parameters: tuple[str, ...]  # the parameters that scored 3, in the chart's order

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: temperatures as numbers with one decimal."""
        return {
            "score": self.score,
            "band": self.band,
            "spo2_scale": self.spo2_scale,
            "red_parameters": list(self.red_parameters),
            "parameters": {name: {"value": float(p.value) if isinstance(p.value, Decimal) else p.value,
                                  "points": p.points} for name, p in self.parameters.items()},
        }


def score(observations: Observations) -> News2:
    """The NEWS2 of one observation set: every row's points, their sum and the clinical risk band."""
    rr, spo2, sbp, pulse, consciousness, temperature = _read(observations)
    oxygen = observations.oxygen
    parameters = {
        "respiration_rate": Parameter(rr, _points(rr, RESPIRATION_RATE)),
        "spo2": Parameter(spo2, _points(spo2, spo2_row(observations.spo2_scale, oxygen))),
        "air_or_oxygen": Parameter("oxygen" if oxygen else "air", OXYGEN_POINTS if oxygen else 0),
        "systolic_bp": Parameter(sbp, _points(sbp, SYSTOLIC_BP)),
        "pulse": Parameter(pulse, _points(pulse, PULSE)),
        "consciousness": Parameter(consciousness, 0 if consciousness == "A" else RED),
        "temperature": Parameter(temperature, _points(temperature, TEMPERATURE)),
    }
    total = sum(p.points for p in parameters.values())
    red = tuple(name for name, p in parameters.items() if p.points == RED)
    return News2(score=total, band=band(total, bool(red)), spo2_scale=observations.spo2_scale,
                 parameters=parameters, red_parameters=red)


def spo2_row(scale: int, oxygen: bool) -> tuple[tuple[float, int], ...]:
    """The SpO2 row to read: scale 1 whatever the oxygen; scale 2 depends on it above the 88–92 % target."""
    if scale == 1:
        return SPO2_SCALE_1
    return SPO2_SCALE_2_OXYGEN if oxygen else SPO2_SCALE_2_AIR


def band(total: int, any_red: bool) -> Band:
    """Chart 2: the clinical risk of an aggregate score; a red cell lifts a low score to low–medium only."""
    if not 0 <= total <= MAX_SCORE:
        raise ValueError(f"score NEWS2 hors de 0 à {MAX_SCORE} : {total}")
    if total >= 7:
        return "high"
    if total >= 5:
        return "medium"
    return "low-medium" if any_red else "low"


def _points(value: int | Decimal, row: tuple[tuple[Decimal | float, int], ...]) -> int:
    for highest, points in row:
        if value <= highest:
            return points
    raise AssertionError("a chart row ends with an open column")  # pragma: no cover - OPEN is infinite


def _read(o: Observations) -> tuple[int, int, int, int, str, Decimal]:
    """The values the chart looks up, each checked: whole numbers, the temperature rounded, the letter read."""
    if o.spo2_scale not in (1, 2) or isinstance(o.spo2_scale, bool):
        raise ObservationError("spo2_scale", f"« {o.spo2_scale} » inconnue (1, ou 2 sur décision clinique)")
    if not isinstance(o.oxygen, bool):
        raise ObservationError("oxygen", f"« {o.oxygen} » n'est ni l'air ni l'oxygène (vrai ou faux attendu)")
    return (_whole("respiration_rate", o.respiration_rate), _whole("spo2", o.spo2),
            _whole("systolic_bp", o.systolic_bp), _whole("pulse", o.pulse),
            _letter(o.consciousness), _tenths(o.temperature))


def _number(field: str, value: object) -> Decimal:
    """A finite number, as a Decimal (a float through its shortest repr, so 35.05 stays 35.05)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ObservationError(field, f"« {value} » n'est pas un nombre")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ObservationError(field, f"« {value} » n'est pas un nombre")
    return number


def _in_range(field: str, number: Decimal) -> None:
    low, high = POSSIBLE[field]
    if not low <= number <= high:
        unit = UNITS[field]
        raise ObservationError(field, f"{_french(number)} {unit} hors des valeurs possibles "
                                      f"({_french(low)} à {_french(high)} {unit})")


def _whole(field: str, value: object) -> int:
    number = _number(field, value)
    _in_range(field, number)
    if number != number.to_integral_value():
        raise ObservationError(field, f"{_french(number)} n'est pas un nombre entier (le barème NEWS2 "
                                      "compte en entiers)")
    return int(number)


def _tenths(value: object) -> Decimal:
    number = _number("temperature", value)
    _in_range("temperature", number)
    return number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _letter(value: object) -> str:
    letter = value.strip().upper() if isinstance(value, str) else ""
    if letter not in ACVPU:
        raise ObservationError("consciousness", f"« {value} » inconnu (A, C, V, P ou U attendu)")
    return letter


def _french(number: Number) -> str:
    """A number as French writes it: a decimal comma, no trailing zeros (95,5 ; 101); a huge one stays short."""
    exact = Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
    text = format(exact, "f") if abs(exact.adjusted()) < 12 else str(exact)
    if "." in text and "E" not in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")
