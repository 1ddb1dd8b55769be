"""`proactif bench sendtime`: the engagement uplift of send-time optimisation over the holdout.

Synthetic residents with *known* preferences: each belongs to a profile (early commuter, lunch break,
evening, retiree mornings, Saturday) that sets, hour by hour, the probability that they act on a message
(click, reply, book). Their past engagement is drawn from it — eight past messages at random hours of the
sending window — and written as `Engagement` rows; then every resident gets one message, at the time
`best_send_times` chooses (the real path: the rows, the population prior, the holdout). Whether they act is
drawn from their true probability at that hour.

Reported: the engagement rate of the optimised group and of the holdout (kept on the window's first hour),
the absolute and relative uplift with a 95 % confidence interval (normal approximation for a difference of
proportions), and the expected rates (no sampling noise) with the oracle — everyone at their true best hour.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from proactif.bench.common import fresh_database, machine, run_measured

PEOPLE = 100_000
PAST_MESSAGES = 8
WINDOW = ((0, 1, 2, 3, 4, 5), 9, 19)  # Monday–Saturday, 09:00–19:00 (the renewal journey's window)

# Profile → (weight in the population, hours of the week with a high response rate)
PROFILES: dict[str, tuple[float, list[tuple[int, range]]]] = {
    "matin": (0.2, [(d, range(9, 10)) for d in range(5)]),
    "midi": (0.25, [(d, range(12, 14)) for d in range(5)]),
    "soir": (0.3, [(d, range(17, 19)) for d in range(5)]),
    "retraite": (0.15, [(d, range(10, 12)) for d in range(6)]),
    "samedi": (0.1, [(5, range(9, 13))]),
}
BASE_RATE, PEAK_RATE = 0.04, 0.30


def run(residents: int | None = None, database: str = "sqlite") -> dict[str, Any]:
    db = fresh_database(database, f"sendtime-{database}")
    measured = run_measured(["bench-probe", "sendtime", "--count", str(residents or PEOPLE)], db)
    return {"benchmark": "sendtime", "database": db.label, **measured.output, "seconds": round(measured.seconds, 1),
            "machine": machine()}


def true_rates(profile: str) -> list[float]:
    rates = [BASE_RATE] * 168
    for day, hours in PROFILES[profile][1]:
        for hour in hours:
            rates[day * 24 + hour] = PEAK_RATE
    return rates


def _proportion_ci(hits_a: int, n_a: int, hits_b: int, n_b: int) -> tuple[float, float, float]:
    pa, pb = hits_a / n_a, hits_b / n_b
    se = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    return pa - pb, pa - pb - 1.96 * se, pa - pb + 1.96 * se


def probe(count: int = PEOPLE, seed: int = 7) -> dict[str, Any]:
    """Runs inside the child process on a fresh database (`proactif bench-probe sendtime`)."""
    from proactif.kernel import bulkload, clock
    from proactif.messaging import _sendtime as sendtime
    from proactif.messaging import services
    from proactif.messaging.models import Engagement

    rnd = random.Random(seed)
    names = list(PROFILES)
    weights = [PROFILES[n][0] for n in names]
    people = {pid: names[rnd.choices(range(len(names)), weights)[0]] for pid in range(1, count + 1)}
    rates = {name: true_rates(name) for name in names}
    window = sendtime.Window(WINDOW[0], datetime.min.time().replace(hour=WINDOW[1]),
                             datetime.min.time().replace(hour=WINDOW[2]))
    monday = datetime(2026, 11, 30, 0, 0, tzinfo=clock.local_tz())
    open_hours = [d * 24 + h for d in WINDOW[0] for h in range(WINDOW[1], WINDOW[2])]

    # The past: eight messages each at random hours of the window; engagements where they acted
    Engagement.objects.all().delete()
    started = time.perf_counter()
    rows = []
    for pid, profile in people.items():
        for week in range(PAST_MESSAGES):
            hour = rnd.choice(open_hours)
            if rnd.random() < rates[profile][hour]:
                at = (monday - timedelta(weeks=week + 1) + timedelta(hours=hour)).astimezone(UTC)
                rows.append({"person_id": pid, "kind": "click", "channel": "sms", "at": at, "hour_of_week": hour})
    for start in range(0, len(rows), 50_000):
        bulkload.copy_records(Engagement, rows[start:start + 50_000])
    learned = time.perf_counter() - started

    # The test: one message each, at the chosen time
    started = time.perf_counter()
    with clock.use(clock.FixedClock(monday.astimezone(UTC))):
        chosen: dict[int, datetime] = {}
        ids = list(people)
        for start in range(0, len(ids), 5000):
            chosen.update(services.best_send_times(ids[start:start + 5000], window))
    choose_seconds = time.perf_counter() - started
    groups: dict[str, list[int]] = {"optimised": [], "holdout": []}
    expected: dict[str, float] = {"optimised": 0.0, "holdout": 0.0}
    oracle = 0.0
    for pid, profile in people.items():
        group = "holdout" if sendtime.in_holdout(pid) else "optimised"
        p = rates[profile][sendtime.hour_of_week(chosen[pid], clock.local_tz())]
        groups[group].append(1 if rnd.random() < p else 0)
        expected[group] += p
        oracle += max(rates[profile][h] for h in open_hours)
    n_opt, n_hold = len(groups["optimised"]), len(groups["holdout"])
    hits_opt, hits_hold = sum(groups["optimised"]), sum(groups["holdout"])
    diff, low, high = _proportion_ci(hits_opt, n_opt, hits_hold, n_hold)
    hold_rate = hits_hold / n_hold
    return {
        "people": count, "past_messages_each": PAST_MESSAGES, "engagements_learned": len(rows),
        "profiles": {n: PROFILES[n][0] for n in names},
        "optimised": {"people": n_opt, "engaged": hits_opt, "rate": round(hits_opt / n_opt, 4),
                      "expected_rate": round(expected["optimised"] / n_opt, 4)},
        "holdout": {"people": n_hold, "engaged": hits_hold, "rate": round(hold_rate, 4),
                    "expected_rate": round(expected["holdout"] / n_hold, 4)},
        "uplift_points": round(100 * diff, 2), "uplift_ci95_points": [round(100 * low, 2), round(100 * high, 2)],
        "relative_uplift": round(diff / hold_rate, 3) if hold_rate else None,
        "relative_uplift_ci95": [round(low / hold_rate, 3), round(high / hold_rate, 3)] if hold_rate else None,
        "oracle_expected_rate": round(oracle / count, 4),
        "timings": {"write_engagements_s": round(learned, 1), "choose_times_s": round(choose_seconds, 1)},
    }
