"""Send-time optimisation: each person's best hour of the week, learned from their engagement.

Each person has 168 counters (hour of the week) of clicks, replies and bookings. The estimate is the
posterior mean under a Dirichlet prior shaped like the whole population's engagement: with no history a
person gets the population's best hour; with a few engagements their own pattern takes over. A random
holdout (10 % of people, stable per person) keeps the default time, so the uplift can be measured.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

HOURS = 168
PRIOR_STRENGTH = 12.0  # pseudo-engagements of the population prior
HOLDOUT_PERCENT = 10


@dataclass(frozen=True)
class Window:
    """When a send node may deliver: weekdays (0 = Monday) and local hours [start, end)."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    start: time = time(9, 0)
    end: time = time(19, 0)

    def candidates(self, now: datetime, tz: tzinfo, horizon_days: int = 7) -> list[datetime]:
        """Every whole hour of local time (in `tz`) in the window over the next week, the first one possibly
        `now` itself."""
        local = now.astimezone(tz)
        out = []
        day = local.date()
        for offset in range(horizon_days + 1):
            current = day + timedelta(days=offset)
            if current.weekday() not in self.days:
                continue
            hour = self.start.hour
            while hour < self.end.hour or (hour == self.end.hour and self.end.minute > 0):
                moment = datetime(current.year, current.month, current.day, hour, 0, tzinfo=tz)
                if moment + timedelta(minutes=59) >= local and moment.time() < self.end:
                    out.append(max(moment, local))
                hour += 1
        return out


def in_holdout(person_id: int) -> bool:
    digest = hashlib.sha256(f"sendtime:{person_id}".encode()).digest()
    return digest[0] * 100 // 256 < HOLDOUT_PERCENT


def hour_of_week(moment: datetime, tz: tzinfo) -> int:
    """0 = Monday 00:00–01:00 local time (in `tz`) … 167."""
    local = moment.astimezone(tz)
    return local.weekday() * 24 + local.hour


def prior(population: Sequence[float]) -> list[float]:
    total = sum(population)
    if total <= 0:
        return [1.0 / HOURS] * HOURS
    smoothed = [c + 0.5 for c in population]  # no hour is impossible
    norm = sum(smoothed)
    return [c / norm for c in smoothed]


def best_time(counts: Sequence[float] | None, population_prior: Sequence[float], candidates: Sequence[datetime],
              holdout: bool, candidate_hours: Sequence[int] | None = None) -> datetime:
    """The candidate with the highest posterior engagement rate (the first candidate for the holdout). Without
    `candidate_hours`, the hours of the week are read on the candidates' own clock (local time, as
    `Window.candidates` gives them)."""
    if not candidates:
        raise ValueError("no candidate time")
    if holdout:
        return candidates[0]
    hours = candidate_hours if candidate_hours is not None else [m.weekday() * 24 + m.hour for m in candidates]
    if not counts:  # no history: the population's best hour among the candidates
        return candidates[max(range(len(candidates)), key=lambda i: (population_prior[hours[i]], -i))]
    total = sum(counts)
    best, best_score = 0, -1.0
    for index, h in enumerate(hours):
        posterior = (counts[h] + PRIOR_STRENGTH * population_prior[h]) / (total + PRIOR_STRENGTH)
        if posterior > best_score:
            best, best_score = index, posterior
    return candidates[best]


def counts_from(rows: Iterable[tuple[int, int, int]]) -> dict[int, list[float]]:
    """(person, hour of week, count) rows → person → 168 counters."""
    out: dict[int, list[float]] = defaultdict(lambda: [0.0] * HOURS)
    for person_id, hour, count in rows:
        out[person_id][hour] += count
    return dict(out)
