"""Synthetic home vital signs with deteriorations injected at known times, and the detection figures of the rules
on them. Pure and deterministic by seed (numpy): no Django, no I/O.

Each person wears a multi-parameter device reporting every `interval` minutes (heart rate, respiratory rate,
temperature, SpO2, systolic and diastolic pressure) with a daily rhythm (lowest near 04:00, temperature highest
near 17:00), a day-to-day offset, measurement noise, dropped messages, rare absurd artefacts (a probe off the
finger) and rare plausible spikes; a motion sensor reports events from a personal rise time to bedtime, with a
night visit now and then. Episodes, in turn:
- ``sepsis``: heart and respiratory rates and temperature up, SpO2 and systolic pressure down, reaching a peak of
  random strength over 2–6 hours, held 3 hours, back over 3 hours;
- ``not_up``: the person does not get up in the morning (no motion from the night until found 4 hours after the
  usual rise);
- ``fall``: during the day, motion stops for 6 hours;
- ``silent``: the vital-signs device stops for 3–12 hours, half the time after a Last Will "offline".
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from proactif.watch.rules import VITALS, Evaluator, Finding, Reading, Settings, utc

ZONE = ZoneInfo("Europe/Paris")
START = datetime(2026, 1, 5, tzinfo=ZONE)  # a winter fortnight: no daylight-saving change inside
KINDS = ("sepsis", "not_up", "fall", "silent")
RELEVANT = {"sepsis": ("threshold:", "news2", "trend:"), "not_up": ("not_up",), "fall": ("no_movement",),
            "silent": ("device_stale:", "device_offline:")}
# per vital: population mean, population sd, daily amplitude, day-to-day sd, noise sd, peak shift in sepsis
MODEL = {
    "heart_rate": (72.0, 6.0, 6.0, 2.0, 3.0, 40.0),
    "respiratory_rate": (16.0, 1.2, 1.0, 0.5, 0.8, 10.0),
    "temperature": (36.7, 0.2, 0.3, 0.1, 0.1, 2.0),
    "spo2": (97.0, 0.8, 0.3, 0.3, 0.6, -6.0),
    "systolic_bp": (132.0, 9.0, 6.0, 3.0, 4.0, -25.0),
    "diastolic_bp": (78.0, 5.0, 4.0, 2.0, 3.0, -12.0),
}
CLIP = {"heart_rate": (62, 85), "respiratory_rate": (14, 18), "temperature": (36.3, 37.1), "spo2": (95.5, 98.5),
        "systolic_bp": (118, 152), "diastolic_bp": (66, 90)}


@dataclass(frozen=True)
class Episode:
    kind: str
    person: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Scenario:
    persons: tuple[str, ...]
    start: datetime
    hours: int
    interval: int  # minutes between two vital-sign readings
    times: np.ndarray  # epoch seconds of each reading slot
    vitals: np.ndarray  # (person, slot, vital) with NaN where the message was lost
    motion: tuple[np.ndarray, ...]  # per person, epoch seconds of motion events
    offline: tuple[tuple[int, float], ...]  # (person index, epoch) of Last Will messages
    episodes: tuple[Episode, ...]

    def readings(self) -> Iterator[Reading]:
        """Every message in time order (motion sensors and Last Wills included)."""
        interval = timedelta(minutes=self.interval)
        streams: list[Iterator[tuple[float, int, int, int]]] = [
            ((float(t), 1, -1, i) for i, t in enumerate(self.times))]
        streams += [_tagged(events, p) for p, events in enumerate(self.motion)]
        streams.append(((t, 2, p, -1) for p, t in sorted(self.offline, key=lambda o: o[1])))
        for t, kind, p, i in heapq.merge(*streams):
            at = utc(t)
            if kind == 0:
                yield Reading(self.persons[p], at, device=f"{self.persons[p]}-mvt", motion=True)
            elif kind == 2:
                yield Reading(self.persons[p], at, device=f"{self.persons[p]}-vitaux", status="offline")
            else:
                for q, person in enumerate(self.persons):
                    row = self.vitals[q, i]
                    if not np.isnan(row[0]):
                        yield Reading(person, at, device=f"{person}-vitaux", interval=interval,
                                      vitals={v: float(x) for v, x in zip(VITALS, row, strict=True)
                                              if not np.isnan(x)})


def _tagged(events: np.ndarray, person: int) -> Iterator[tuple[float, int, int, int]]:
    return ((float(t), 0, person, -1) for t in events)


def generate(persons: int, hours: int, seed: int, episodes: int, interval: int = 15) -> Scenario:
    rng = np.random.default_rng(seed)
    names = tuple(f"p{n:04d}" for n in range(persons))
    t0 = START.timestamp()
    slots = hours * 60 // interval
    times = t0 + np.arange(slots) * interval * 60.0
    local_hours = (times - t0) / 3600.0 % 24
    days = ((times - t0) // 86400).astype(int)
    n_days = hours // 24 + 1
    vitals = np.empty((persons, slots, len(VITALS)))
    for k, vital in enumerate(VITALS):
        mean, sd, amplitude, daily, noise, _ = MODEL[vital]
        peak = 17.0 if vital == "temperature" else 16.0  # lowest about 12 hours earlier
        base = np.clip(rng.normal(mean, sd, persons), *CLIP[vital])
        rhythm = amplitude * np.cos((local_hours - peak) / 24 * 2 * np.pi)
        offsets = rng.normal(0, daily, (persons, n_days))[:, days]
        vitals[:, :, k] = base[:, None] + rhythm[None, :] + offsets + rng.normal(0, noise, (persons, slots))
    spikes = rng.random((persons, slots)) < 0.002  # plausible one-off spikes: a cough, a moved cuff
    vitals[:, :, 0] += np.where(spikes, rng.choice([-15.0, 20.0], (persons, slots)), 0.0)
    artefacts = rng.random((persons, slots)) < 0.001  # a probe off the finger: SpO2 and pulse read 0
    vitals[:, :, 0][artefacts] = 0.0
    vitals[:, :, 3][artefacts] = 0.0
    rise = np.clip(rng.normal(7.5, 0.75, persons), 6.0, 9.5)
    bed = rng.uniform(21.5, 23.5, persons)
    motion: list[list[float]] = []
    for p in range(persons):
        events: list[float] = []
        for d in range(n_days):
            day0 = t0 + d * 86400
            if rng.random() < 0.4:  # a night visit, before the rise window opens
                events.append(day0 + rng.uniform(1.0, 4.5) * 3600)
            up = rise[p] + rng.normal(0, 20 / 60)
            gaps = rng.exponential(20 / 60, 120)
            moments = up + np.concatenate(([0.0], np.cumsum(gaps)))
            events.extend(day0 + moments[moments < bed[p]] * 3600)
        motion.append(events)
    offline: list[tuple[int, float]] = []
    truth: list[Episode] = []
    first_day = min(5, max(0, hours // 24 - 2))  # five days to learn the rise time, when the run is long enough
    last_day = max(first_day + 1, hours // 24 - 1)
    chosen = rng.permutation(persons)
    for e in range(episodes):
        kind, p = KINDS[e % len(KINDS)], int(chosen[e % persons])
        d = int(rng.integers(first_day, last_day))
        day0 = t0 + d * 86400
        if kind == "sepsis":
            start = day0 + rng.uniform(0, 20) * 3600
            ramp, strength = rng.uniform(2, 6) * 3600, rng.uniform(0.6, 1.0)
            end = start + ramp + 6 * 3600
            shape = np.clip(np.minimum((times - start) / ramp, (end - times) / (3 * 3600)), 0, 1)
            for k, vital in enumerate(VITALS):
                vitals[p, :, k] += strength * MODEL[vital][5] * shape
        elif kind == "not_up":
            start = day0 + rise[p] * 3600
            end = start + 4 * 3600
        elif kind == "fall":
            start = day0 + rng.uniform(rise[p] + 1, 16) * 3600
            end = start + 6 * 3600
        else:
            slot = min(int(np.searchsorted(times, day0 + rng.uniform(0, 20) * 3600)), slots - 1)
            start = float(times[slot])
            end = start + rng.uniform(3, 12) * 3600
            vitals[p, (times > start) & (times < end), :] = np.nan
            if rng.random() < 0.5:
                offline.append((p, start + 60))
        if kind in ("not_up", "fall"):
            quiet_from = day0 if kind == "not_up" else start
            motion[p] = [t for t in motion[p] if not quiet_from <= t < end] + [end]
        truth.append(Episode(kind, names[p], utc(start), utc(end)))
    lost = rng.random((persons, slots)) < 0.02
    vitals[lost] = np.nan
    vitals[:, :, 1:3] = np.round(vitals[:, :, 1:3] * [1, 10]) / [1, 10]  # as devices show them
    vitals[:, :, [0, 3, 4, 5]] = np.round(np.minimum(vitals[:, :, [0, 3, 4, 5]], [300, 100, 300, 200]))
    end_of_run = t0 + hours * 3600
    kept = tuple(np.array(sorted(t for t in m if t < end_of_run)) for m in motion)
    return Scenario(names, START, hours, interval, times, vitals, kept, tuple(offline), tuple(truth))


def evaluate(scenario: Scenario, settings: Settings | None = None,
             grace: timedelta = timedelta(hours=1)) -> dict[str, object]:
    """Runs the rules over the scenario in time order (a tick every 5 minutes) and scores them against the truth:
    an episode is caught by a relevant warning or critical finding within its window plus `grace`; a false alarm
    is a warning or critical finding outside every episode window (plus grace) of its person."""
    evaluator = Evaluator(settings)
    findings: list[Finding] = []
    next_tick = scenario.start.timestamp()
    for reading in scenario.readings():
        ts = reading.at.timestamp()
        while next_tick <= ts:
            findings += evaluator.tick(utc(next_tick))
            next_tick += 300
        findings += evaluator.feed(reading)
    by_person: dict[str, list[Episode]] = {}
    for episode in scenario.episodes:
        by_person.setdefault(episode.person, []).append(episode)
    alarms = [f for f in findings if f.severity != "info"]
    delays: list[float] = []
    by_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for episode in scenario.episodes:
        hits = [f.at for f in alarms if f.person == episode.person and f.rule.startswith(RELEVANT[episode.kind])
                and episode.start <= f.at <= episode.end + grace]
        if hits:
            delays.append((min(hits) - episode.start).total_seconds() / 60)
            by_kind[episode.kind].append(delays[-1])
    false = [f for f in alarms if not any(e.start <= f.at <= e.end + grace for e in by_person.get(f.person, []))]
    person_days = len(scenario.persons) * scenario.hours / 24
    per_kind = {kind: sum(e.kind == kind for e in scenario.episodes) for kind in KINDS}
    return {
        "persons": len(scenario.persons), "hours": scenario.hours, "person_days": person_days,
        "injected": len(scenario.episodes), "episodes_by_kind": per_kind, "caught": len(delays),
        "caught_share": round(len(delays) / len(scenario.episodes), 3) if scenario.episodes else 1.0,
        "false_alarms": len(false),
        "false_alarms_per_100_person_days": round(100 * len(false) / person_days, 3),
        "false_alarms_by_rule": dict(sorted(Counter(f.rule.split(":")[0] for f in false).items())),
        "findings": len(findings), "info_findings": len(findings) - len(alarms),
        "delay_median_min": round(float(np.median(delays)), 1) if delays else None,
        "delay_p95_min": round(float(np.percentile(delays, 95)), 1) if delays else None,
        "delay_median_min_by_kind": {k: round(float(np.median(d)), 1) for k, d in by_kind.items() if d},
        "settings": (settings or Settings()).as_dict(), "grace_min": grace.total_seconds() / 60,
    }
