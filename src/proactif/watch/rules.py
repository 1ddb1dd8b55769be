"""The watch rules: readings from home devices in, findings for the desk out. Pure: no Django, no I/O.

Designed against alert fatigue (most clinical alarms are false): every rule has a persistence guard and a
hysteresis; one open finding per (person, rule) — reported once, open until it clears, then it may raise again
(an open warning that turns critical is reported once more).

Rules, each named by `Finding.rule`:
- ``threshold:<vital>``: beyond the person's warning bounds for `readings` consecutive readings (or `minutes`
  over at least two) → warning; beyond a critical bound for `critical_readings` → critical. By default a critical
  value waits for one confirming reading (15 min): a lone pulse of 38 from a loose sensor is the commonest false
  alarm, a true one is still there next time. Cleared after `clear_readings` in range. Impossible values (a probe
  off the finger: SpO2 0) are discarded as artefacts.
- ``news2``: when pulse, respiration, temperature, SpO2 and systolic pressure were all read within `news2_window`,
  the NEWS2 (proactif.watch.news2) of their latest values; medium band or a single red parameter → warning, high
  → critical, same persistence. Devices do not report consciousness: ACVPU is taken as "A" (alert).
- ``trend:<vital>``: a two-sided CUSUM on hourly means standardised against the person's own baseline: the mean
  of the same hour (UTC) over the last 7 days, so the daily rhythm is no trend, and the spread around it (weighted
  over about 7 days, far-off hours left out). CUSUM rather than EWMA: the optimal detector of a sustained shift
  (Page 1954), it accumulates evidence, so a drift held for hours raises and one odd hour does not. `trend_k` 2 σ
  (above a well person's day-to-day wander), `trend_h` 12: a shift held at 4 σ raises in 7 hours, a fever in 2–3.
- ``not_up``: a day's first motion (after 05:00 local) later than the person's usual rise — the median of past
  days — plus max(60 min, 2 × interquartile range). ``no_movement``: once up, no motion for `no_movement` hours
  between 08:00 and 21:00 local.
- ``device_stale:<device>``: no data for `stale_factor` × the device's interval; ``device_offline:<device>``: its
  MQTT Last Will said "offline"; ``battery_low:<device>``: battery below 15 % (info, cleared at 20 %).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from proactif.watch.news2 import BAND_LABELS, Observations, score

Severity = Literal["info", "warning", "critical"]
VITALS = ("heart_rate", "respiratory_rate", "temperature", "spo2", "systolic_bp", "diastolic_bp")
LABELS = {"heart_rate": "fréquence cardiaque", "respiratory_rate": "fréquence respiratoire",
          "temperature": "température", "spo2": "SpO2", "systolic_bp": "pression systolique",
          "diastolic_bp": "pression diastolique"}
UNITS = {"heart_rate": "/min", "respiratory_rate": "/min", "temperature": "°C", "spo2": "%",
         "systolic_bp": "mmHg", "diastolic_bp": "mmHg"}
# Beyond these a reading is a device artefact, not a person (inclusive bounds).
PLAUSIBLE = {"heart_rate": (20.0, 250.0), "respiratory_rate": (3.0, 60.0), "temperature": (30.0, 43.0),
             "spo2": (50.0, 100.0), "systolic_bp": (50.0, 260.0), "diastolic_bp": (20.0, 160.0)}
# Floor of the hourly-mean standard deviation, so a very steady week does not make every hour an outlier.
TREND_SD_FLOOR = {"heart_rate": 3.0, "respiratory_rate": 1.0, "temperature": 0.15, "spo2": 0.7,
                  "systolic_bp": 5.0, "diastolic_bp": 4.0}


@dataclass(frozen=True)
class Bounds:
    """A value is in warning below `warning_low` or above `warning_high`, critical below `critical_low` or above
    `critical_high` (strict comparisons); None: no bound on that side."""

    critical_low: float | None
    warning_low: float | None
    warning_high: float | None
    critical_high: float | None

    def level(self, value: float) -> int:  # 0 in range, 1 warning, 2 critical
        def beyond(low: float | None, high: float | None) -> bool:
            return (low is not None and value < low) or (high is not None and value > high)
        return 2 if beyond(self.critical_low, self.critical_high) else int(beyond(self.warning_low, self.warning_high))


@dataclass(frozen=True)
class Thresholds:
    heart_rate: Bounds
    respiratory_rate: Bounds
    temperature: Bounds
    spo2: Bounds
    systolic_bp: Bounds
    diastolic_bp: Bounds
    spo2_scale: int = 1  # the NEWS2 SpO2 scale: 2 (target 88–92 %) only on a clinician's decision

    def of(self, vital: str) -> Bounds:
        return cast(Bounds, getattr(self, vital))


# Programme "âgé à domicile". Warning and critical edges follow the NEWS2 chart (RCP 2017): critical where a
# parameter scores 3 (pulse ≤40 or ≥131, respiration ≤8 or ≥25, SpO2 ≤91, systolic ≤90 or ≥220, temperature
# ≤35.0), warning where it scores 1–2 and the reading is unusual at home (pulse ≤50 or >110, respiration <12 or
# >20, SpO2 <94, systolic ≤100, temperature <35.5 or >38.0, >39.0 critical). Systolic >180 and diastolic <50 or
# >110 (critical <40 or >130) follow the ESC/ESH 2018 hypertension grades: diastolic is not in NEWS2.
DEFAULTS = Thresholds(heart_rate=Bounds(41, 51, 110, 130), respiratory_rate=Bounds(9, 12, 20, 24),
                      temperature=Bounds(35.05, 35.5, 38.0, 39.0), spo2=Bounds(92, 94, None, None),
                      systolic_bp=Bounds(91, 101, 180, 219), diastolic_bp=Bounds(40, 50, 110, 130))


# Programme "insuffisance respiratoire chronique" (hypercapnic, on a clinician's decision): SpO2 on the NEWS2 scale 2,
# target 88–92 % — critical where it scores 3 (≤83), warning where it scores 1–2 (84–87); the rest as above.
RESPIRATORY = replace(DEFAULTS, spo2=Bounds(84, 88, None, None), spo2_scale=2)
# The programmes a person's thresholds start from (key → label, thresholds); "standard" is everyone's default.
DEFAULT_PROGRAMME = "standard"
PROGRAMMES: dict[str, tuple[str, Thresholds]] = {
    "standard": ("Personne âgée ou fragile à domicile (seuils NEWS2)", DEFAULTS),
    "insuffisance_respiratoire": ("Insuffisance respiratoire chronique (SpO2 cible 88–92 %, échelle 2 du NEWS2)",
                                  RESPIRATORY),
}
BOUNDS = ("critical_low", "warning_low", "warning_high", "critical_high")
BOUND_LABELS = {"critical_low": "seuil bas critique", "warning_low": "seuil bas d'avertissement",
                "warning_high": "seuil haut d'avertissement", "critical_high": "seuil haut critique"}


def programme(key: str) -> Thresholds:
    """A programme's thresholds (an unknown key: ValueError, in French)."""
    if key not in PROGRAMMES:
        raise ValueError(f"programme inconnu : « {key} »")
    return PROGRAMMES[key][1]


def parse_bound(text: str) -> float | None:
    """A bound as typed in a form: « 92 », « 37,5 », « 37.5 »; empty: no bound on that side. ValueError else."""
    text = text.strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
    if not text:
        return None
    value = float(text)  # ValueError for « abc »
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def check_bounds(vital: str, bounds: Bounds) -> dict[str, str]:
    """What is wrong with a vital's bounds, by bound name (empty: nothing): within the values a person may have
    (`PLAUSIBLE`), and ordered critical low ≤ warning low < warning high ≤ critical high."""
    errors: dict[str, str] = {}
    low, high = PLAUSIBLE[vital]
    unit = UNITS[vital]
    values = {name: getattr(bounds, name) for name in BOUNDS}
    for name, value in values.items():
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            errors[name] = f"{LABELS[vital]} : hors des valeurs possibles ({_fr(low)} à {_fr(high)} {unit})"
    if errors:
        return errors
    cl, wl, wh, ch = (values[name] for name in BOUNDS)
    if cl is not None and wl is not None and cl > wl:
        errors["critical_low"] = (f"le seuil bas critique ({_fr(cl)} {unit}) ne peut dépasser le seuil bas "
                                  f"d'avertissement ({_fr(wl)} {unit})")
    if wh is not None and ch is not None and ch < wh:
        errors["critical_high"] = (f"le seuil haut critique ({_fr(ch)} {unit}) ne peut être sous le seuil haut "
                                   f"d'avertissement ({_fr(wh)} {unit})")
    lows = [(n, v) for n, v in (("warning_low", wl), ("critical_low", cl)) if v is not None]
    highs = [(n, v) for n, v in (("warning_high", wh), ("critical_high", ch)) if v is not None]
    if lows and highs:
        (low_name, low_value), (high_name, high_value) = lows[0], highs[0]
        if low_value >= high_value and high_name not in errors:
            errors[high_name] = (f"le {BOUND_LABELS[high_name]} ({_fr(high_value)} {unit}) doit être au-dessus du "
                                 f"{BOUND_LABELS[low_name]} ({_fr(low_value)} {unit})")
    if all(v is None for v in values.values()):
        errors["warning_low"] = f"{LABELS[vital]} : gardez au moins un seuil"
    return errors


def overrides_of(base: Thresholds, wanted: Thresholds) -> dict[str, dict[str, float | None]]:
    """The bounds of `wanted` that differ from the programme's `base` (vital → {bound name: value})."""
    out: dict[str, dict[str, float | None]] = {}
    for vital in VITALS:
        changed = {name: getattr(wanted.of(vital), name) for name in BOUNDS
                   if getattr(wanted.of(vital), name) != getattr(base.of(vital), name)}
        if changed:
            out[vital] = changed
    return out


def as_dict(thresholds: Thresholds) -> dict[str, dict[str, float | None]]:
    """Every vital's bounds, in plain JSON types (the history keeps them before and after a change)."""
    return {vital: {name: getattr(thresholds.of(vital), name) for name in BOUNDS} for vital in VITALS}


def merge(defaults: Thresholds, overrides: dict[str, dict[str, float | None]]) -> Thresholds:
    """The programme's thresholds with a person's overrides (vital → {bound name: value}); checked in order."""
    merged = defaults
    for vital, changes in overrides.items():
        if vital not in VITALS:
            raise ValueError(f"signe vital inconnu : « {vital} »")
        unknown = set(changes) - {"critical_low", "warning_low", "warning_high", "critical_high"}
        if unknown:
            raise ValueError(f"seuil inconnu pour {LABELS[vital]} : {', '.join(sorted(unknown))}")
        bounds = replace(merged.of(vital), **changes)
        edges = [b for b in (bounds.critical_low, bounds.warning_low, bounds.warning_high, bounds.critical_high)
                 if b is not None]
        if edges != sorted(edges):
            raise ValueError(f"seuils de {LABELS[vital]} dans le désordre : {edges}")
        changed: dict[str, Any] = {vital: bounds}
        merged = replace(merged, **changed)
    return merged


@dataclass(frozen=True)
class Settings:
    readings: int = 4  # consecutive out-of-range readings before a warning (an hour at one every 15 minutes)
    minutes: int = 60  # ...or this long out of range (at least two readings)
    critical_readings: int = 2  # a critical value raises on the reading that confirms it; 1: at once
    clear_readings: int = 3  # consecutive in-range readings to clear
    news2_window: timedelta = timedelta(minutes=60)
    news2_readings: int = 2
    trend_k: float = 2.0
    trend_h: float = 12.0
    trend_days: int = 7  # baseline: the same hour of the last 7 days
    trend_min_days: int = 3
    trend_calm_hours: int = 3
    rise_after: int = 5 * 60  # local minutes: earlier motion is a night visit, not the rise
    rise_min_days: int = 5
    rise_days: int = 14
    rise_margin: int = 60
    no_movement: timedelta = timedelta(hours=4)
    day_start: int = 8 * 60
    day_end: int = 21 * 60
    stale_factor: float = 3.0
    battery_low: float = 15.0
    battery_clear: float = 20.0
    timezone: str = "Europe/Paris"

    def as_dict(self) -> dict[str, object]:
        return {k: (v.total_seconds() / 60 if isinstance(v, timedelta) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Reading:
    """One message from a device: vitals, a motion event, a battery level, a Last Will status — any of them."""

    person: str
    at: datetime
    device: str = ""
    vitals: dict[str, float] = field(default_factory=dict)
    motion: bool = False
    battery: float | None = None
    status: Literal["online", "offline"] | None = None
    interval: timedelta | None = None  # the device's expected reporting interval; None: no stale check
    fall: bool = False  # a fall detector's event


@dataclass(frozen=True)
class Finding:
    person: str
    rule: str
    severity: Severity
    vital: str | None
    value: float | None
    message_fr: str
    at: datetime


@dataclass
class PersonState:
    """Everything the rules remember about one person, in plain JSON types (times as epoch seconds)."""

    open: dict[str, str] = field(default_factory=dict)  # rule → severity
    calm: dict[str, int] = field(default_factory=dict)  # rule → consecutive in-range readings or hours
    streak: dict[str, list[float]] = field(default_factory=dict)  # rule → [count, first ts, critical count]
    latest: dict[str, list[float]] = field(default_factory=dict)  # vital → [ts, value]
    hour: int = -1
    bucket: dict[str, list[float]] = field(default_factory=dict)  # vital → [sum, count] of the current hour
    hourly: dict[str, list[list[float]]] = field(default_factory=dict)  # vital → per UTC hour, past days' means
    spread: dict[str, list[float]] = field(default_factory=dict)  # vital → [variance of residuals, hours]
    cusum: dict[str, list[float]] = field(default_factory=dict)  # vital → [upper, lower]
    rises: list[int] = field(default_factory=list)  # local minutes of past days' first motion
    rise_day: int = -1  # local ordinal of the last day with a rise
    last_motion: float = -1.0
    devices: dict[str, list[float]] = field(default_factory=dict)  # device → [last seen, interval s (0: none)]
    discarded: int = 0

    def to_json(self) -> str:
        return json.dumps(vars(self), sort_keys=True)  # plain JSON types already: no deep copy (asdict)

    @classmethod
    def from_json(cls, text: str) -> PersonState:
        return cls(**json.loads(text))


class Evaluator:
    """Feeds readings in time order to the rules of each person; `tick` runs the rules that fire on silence."""

    def __init__(self, settings: Settings | None = None, thresholds: Thresholds = DEFAULTS,
                 per_person: dict[str, Thresholds] | None = None):
        self.settings = settings or Settings()
        self.thresholds = thresholds
        self.per_person = per_person or {}
        self.states: dict[str, PersonState] = {}
        self.zone = ZoneInfo(self.settings.timezone)

    def state(self, person: str) -> PersonState:
        return self.states.setdefault(person, PersonState())

    def _raise(self, st: PersonState, out: list[Finding], person: str, rule: str, severity: Severity,
               vital: str | None, value: float | None, message: str, at: datetime) -> None:
        rank = {"info": 0, "warning": 1, "critical": 2}
        current = st.open.get(rule)
        st.calm[rule] = 0
        if current is not None and rank[current] >= rank[severity]:
            return
        st.open[rule] = severity
        out.append(Finding(person, rule, severity, vital, value, message, at))

    @staticmethod
    def _calm(st: PersonState, rule: str, needed: int) -> None:
        if rule in st.open:
            st.calm[rule] = st.calm.get(rule, 0) + 1
            if st.calm[rule] >= needed:
                del st.open[rule], st.calm[rule]

    def feed(self, reading: Reading) -> list[Finding]:
        st, ts = self.state(reading.person), reading.at.timestamp()
        out: list[Finding] = []
        if reading.device:
            self._device(st, out, reading, ts)
        if reading.motion:
            self._motion(st, reading, ts)
        if reading.fall:  # an event, not a level: each one is a finding; its alert (one open per person and rule)
            local = reading.at.astimezone(self.zone)  # is the desk's to close, never the rules'
            out.append(Finding(reading.person, "fall", "critical", None, None,
                               f"chute détectée à {local.hour:02d} h {local.minute:02d}"
                               + (f" par l'appareil {reading.device}" if reading.device else ""), reading.at))
        vitals = {v: float(x) for v, x in reading.vitals.items() if _plausible(v, x)}
        st.discarded += len(reading.vitals) - len(vitals)  # artefacts and unknown vitals
        if vitals:
            self._hourly(st, out, reading, vitals, ts)
            bounds = self.per_person.get(reading.person, self.thresholds)
            for vital, value in vitals.items():
                st.latest[vital] = [ts, value]
                level = bounds.of(vital).level(value)
                message = f"{LABELS[vital]} à {_fr(value)} {UNITS[vital]}" if level else ""  # said if raised
                self._persist(st, out, reading, f"threshold:{vital}", level, vital, value, ts, message,
                              self.settings.readings)
            self._news2(st, out, reading, ts)
        return out

    def _persist(self, st: PersonState, out: list[Finding], reading: Reading, rule: str, level: int,
                 vital: str | None, value: float, ts: float, message: str, readings: int) -> None:
        s = self.settings
        if level == 0:
            st.streak.pop(rule, None)
            self._calm(st, rule, s.clear_readings)
            return
        streak = st.streak.setdefault(rule, [0, ts, 0])
        streak[0] += 1
        streak[2] = streak[2] + 1 if level == 2 else 0
        if streak[2] >= s.critical_readings:
            self._raise(st, out, reading.person, rule, "critical", vital, value, message, reading.at)
        elif streak[0] >= readings or (streak[0] >= 2 and ts - streak[1] >= s.minutes * 60):
            self._raise(st, out, reading.person, rule, "warning", vital, value, message, reading.at)
        elif rule in st.open:
            st.calm[rule] = 0

    def _news2(self, st: PersonState, out: list[Finding], reading: Reading, ts: float) -> None:
        needed = ("heart_rate", "respiratory_rate", "temperature", "spo2", "systolic_bp")
        if not all(v in st.latest and ts - st.latest[v][0] <= self.settings.news2_window.total_seconds()
                   for v in needed):
            return
        hr, rr, temp, spo2, sbp = (st.latest[v][1] for v in needed)
        if 51 <= hr <= 90 and 12 <= rr <= 20 and 36.15 <= temp <= 37.95 and spo2 >= 96 and 111 <= sbp <= 219:
            level, message, total = 0, "", 0.0  # every parameter well inside its 0-point column: no need to score
        else:
            scale = self.per_person.get(reading.person, self.thresholds).spo2_scale
            result = score(Observations(respiration_rate=round(rr), spo2=min(100, round(spo2)), spo2_scale=scale,
                                        pulse=round(hr), systolic_bp=round(sbp), consciousness="A",
                                        temperature=round(temp, 1)))
            level = {"low": 0, "low-medium": 1, "medium": 1, "high": 2}[result.band]
            total = float(result.score)
            message = f"NEWS2 à {result.score} (risque {BAND_LABELS[result.band]}, conscience supposée normale)"
        self._persist(st, out, reading, "news2", level, None, total, ts, message, self.settings.news2_readings)

    def _hourly(self, st: PersonState, out: list[Finding], reading: Reading, vitals: dict[str, float],
                ts: float) -> None:
        hour = int(ts // 3600)
        if hour != st.hour:
            if st.hour >= 0:
                self._close_hour(st, out, reading)
            st.hour, st.bucket = hour, {}
        for vital, value in vitals.items():
            bucket = st.bucket.setdefault(vital, [0.0, 0.0])
            bucket[0] += value
            bucket[1] += 1

    def _close_hour(self, st: PersonState, out: list[Finding], reading: Reading) -> None:
        s, hod = self.settings, st.hour % 24
        for vital, (total, count) in st.bucket.items():
            mean = total / count
            profile = st.hourly.setdefault(vital, [[] for _ in range(24)])[hod]
            spread = st.spread.setdefault(vital, [0.0, 0.0])
            rule = f"trend:{vital}"
            if len(profile) >= s.trend_min_days:
                base = sum(profile) / len(profile)
                sd = max(math.sqrt(spread[0]), TREND_SD_FLOOR[vital])
                z = (mean - base) / sd
                cusum = st.cusum.setdefault(vital, [0.0, 0.0])
                cusum[0] = max(0.0, cusum[0] + z - s.trend_k)
                cusum[1] = max(0.0, cusum[1] - z - s.trend_k)
                if max(cusum) > s.trend_h:
                    way = "hausse" if cusum[0] > s.trend_h else "baisse"
                    cusum[0] = cusum[1] = 0.0
                    message = (f"{LABELS[vital]} en {way} depuis plusieurs heures : moyenne horaire {_fr(mean)} "
                               f"{UNITS[vital]}, habituellement {_fr(base)} ± {_fr(sd)} à cette heure")
                    self._raise(st, out, reading.person, rule, "warning", vital, mean, message, reading.at)
                elif abs(z) < s.trend_k:
                    self._calm(st, rule, s.trend_calm_hours)
                if abs(z) < 3:  # an hour far off the person's usual is no baseline to learn
                    spread[1] += 1
                    spread[0] += ((mean - base) ** 2 - spread[0]) / min(spread[1], s.trend_days * 24)
            profile.append(mean)
            del profile[:-s.trend_days]

    def _motion(self, st: PersonState, reading: Reading, ts: float) -> None:
        local = reading.at.astimezone(self.zone)
        minutes, day = local.hour * 60 + local.minute, local.toordinal()
        if minutes >= self.settings.rise_after and st.rise_day != day:
            if "not_up" not in st.open:  # a day found in trouble is no pattern to learn
                st.rises = [*st.rises, minutes][-self.settings.rise_days:]
            st.rise_day = day
        st.last_motion = ts
        for rule in ("not_up", "no_movement"):
            st.open.pop(rule, None)

    def _device(self, st: PersonState, out: list[Finding], reading: Reading, ts: float) -> None:
        device, s = reading.device, self.settings
        interval = reading.interval.total_seconds() if reading.interval else st.devices.get(device, [0, 0])[1]
        st.devices[device] = [ts, interval]
        st.open.pop(f"device_stale:{device}", None)
        if reading.status == "offline":
            self._raise(st, out, reading.person, f"device_offline:{device}", "warning", None, None,
                        f"appareil {device} hors ligne (dernière volonté MQTT)", reading.at)
        else:
            st.open.pop(f"device_offline:{device}", None)
        if reading.battery is not None:
            rule = f"battery_low:{device}"
            if reading.battery < s.battery_low:
                self._raise(st, out, reading.person, rule, "info", None, reading.battery,
                            f"batterie de l'appareil {device} à {_fr(reading.battery)} %", reading.at)
            elif reading.battery >= s.battery_clear:
                st.open.pop(rule, None)

    def tick(self, now: datetime) -> list[Finding]:
        out: list[Finding] = []
        ts, s = now.timestamp(), self.settings
        local = now.astimezone(self.zone)
        minutes, day = local.hour * 60 + local.minute, local.toordinal()
        day_start = local.replace(hour=s.day_start // 60, minute=s.day_start % 60, second=0, microsecond=0)
        for person, st in self.states.items():
            for device, (seen, interval) in st.devices.items():
                if interval and ts - seen > s.stale_factor * interval and f"device_offline:{device}" not in st.open:
                    self._raise(st, out, person, f"device_stale:{device}", "warning", None, None,
                                f"aucune donnée de l'appareil {device} depuis {_hm_since(ts - seen)}", now)
            if not st.rises or minutes >= s.day_end:
                continue
            if st.rise_day != day and len(st.rises) >= s.rise_min_days and minutes >= s.rise_after:
                usual, spread = _median_iqr(st.rises)
                if minutes >= usual + max(s.rise_margin, 2 * spread):
                    self._raise(st, out, person, "not_up", "warning", None, None,
                                f"aucun lever constaté à {_clock(minutes)} (d'habitude vers "
                                f"{_clock(round(usual))})", now)
            elif st.rise_day == day and minutes >= s.day_start:
                since = max(st.last_motion, day_start.timestamp())
                if ts - since >= s.no_movement.total_seconds():
                    self._raise(st, out, person, "no_movement", "warning", None, None,
                                f"aucun mouvement depuis {_hm_since(ts - st.last_motion)} en journée", now)
        return out


def _median_iqr(values: list[int]) -> tuple[float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return median, q3 - q1


def _plausible(vital: str, value: float) -> bool:
    low, high = PLAUSIBLE.get(vital, (math.inf, -math.inf))
    return math.isfinite(value) and low <= value <= high


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d} h {minutes % 60:02d}"


def _hm_since(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


def _fr(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
