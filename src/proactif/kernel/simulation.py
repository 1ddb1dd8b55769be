"""`proactif simulate`: move time forward, running the work that falls due on the way.

Inside the simulation the process runs on a `FixedClock` that jumps from one due moment to the next,
so the outcome does not depend on how fast the machine is: daily jobs at their time, polling jobs
(outbox, journeys) when their data is due — at a one-minute resolution — and other polling jobs once a
day. After each simulated day the offset is persisted so that the web server and workers see the same
date (`proactif clock reset` undoes it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from proactif.kernel import clock, executor, scheduler


def set_offset_to(target: datetime) -> timedelta:
    from proactif.kernel.models import ClockState

    offset = target - clock.real_now()
    seconds = max(0, int(offset.total_seconds()))
    ClockState.objects.update_or_create(pk=1, defaults={"offset_seconds": seconds, "updated_at": clock.real_now()})
    clock.system_clock().forget()
    return timedelta(seconds=seconds)


def reset_offset() -> None:
    from proactif.kernel.models import ClockState

    ClockState.objects.update_or_create(pk=1, defaults={"offset_seconds": 0, "updated_at": clock.real_now()})
    clock.system_clock().forget()


RESOLUTION = timedelta(minutes=1)


def _after_step() -> None:
    """What runs beside the simulation catches up (the sinks apply their receipts in its thread)."""
    from proactif.kernel import install

    install.step_alongside()


def report() -> dict[str, Any]:
    """What each capability tells at the end of a simulation (journeys per node, messages per channel…)."""
    from proactif.kernel import capabilities

    return {name: build() for name, build in capabilities.reports().items()}


def _next_step(now: datetime, day_end: datetime, ran_today: set[str]) -> tuple[datetime, list[str]]:
    """The next moment something is due before `day_end`, and the jobs due then.

    Daily jobs are due at their scheduled time. Polling jobs with a data hint (outbox, journeys) are due
    when their data is, at least a minute after the last step; polling jobs without one run once a day."""
    from proactif.kernel.models import ScheduledJob

    jobs = scheduler.registered()
    scheduler.ensure_rows(now)
    rows = dict(ScheduledJob.objects.values_list("name", "next_run_at"))
    candidates: list[tuple[datetime, str]] = []
    for name, job in jobs.items():
        if job.every >= timedelta(days=1):
            candidates.append((rows[name], name))
        elif job.due is not None:
            hint = job.due()
            if hint is not None:
                candidates.append((max(hint, now + RESOLUTION) if hint <= now else hint, name))
        elif name not in ran_today:
            candidates.append((day_end - timedelta(microseconds=1), name))
    candidates = [(t, n) for t, n in candidates if t < day_end]
    if not candidates:
        return day_end, []
    first = min(t for t, _ in candidates)
    first = max(first, now)
    return first, [n for t, n in candidates if t <= first]


def simulate(until: date, on_day: Callable[[date, list[str]], None] | None = None,
             on_step: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run every day up to `until`; `on_step` runs after each step besides what `start_alongside` started."""
    start = clock.now()
    end = clock.local_datetime(until + timedelta(days=1))
    if end <= start:
        raise ValueError(f"{until.isoformat()} is not after the current date {start.date().isoformat()}")
    fixed = clock.FixedClock(start)
    runs: dict[str, int] = {}
    days = 0
    previous_backend = executor.get_backend()
    executor.set_backend(executor.InlineBackend())
    try:
        with clock.use(fixed):
            day = clock.today()
            while True:
                day_end = min(clock.local_datetime(day + timedelta(days=1)), end)
                ran_today: list[str] = []
                while True:
                    moment, names = _next_step(fixed.now(), day_end, set(ran_today))
                    if not names:
                        break
                    fixed.set(moment)
                    scheduler.make_due([n for n in names if scheduler.registered()[n].every < timedelta(days=1)],
                                       moment)
                    for name in scheduler.tick(only=names)["dispatched"]:
                        runs[name] = runs.get(name, 0) + 1
                        ran_today.append(name)
                    _after_step()
                    if on_step is not None:
                        on_step()
                fixed.set(day_end)
                days += 1
                set_offset_to(fixed.now())
                if on_day:
                    on_day(day, ran_today)
                if day_end >= end:
                    break
                day += timedelta(days=1)
    finally:
        executor.set_backend(previous_backend)
    return {"from": start.isoformat(), "until": until.isoformat(), "days": days, "jobs_run": runs,
            "now": fixed.now().isoformat()}
