"""`proactif simulate`: move time forward, running the work that falls due on the way.

Inside the simulation the process runs on a `FixedClock` that jumps from one due job to the next,
so the outcome does not depend on how fast the machine is. Jobs that run more often than daily run
once per simulated day. After each simulated day the offset is
persisted so that the web server and workers see the same date (`proactif clock reset` undoes it).
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


def simulate(until: date, on_day: Callable[[date, list[str]], None] | None = None) -> dict[str, Any]:
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
                floor = scheduler.not_before.set(day_end)
                try:
                    while (due := scheduler.next_due_at()) is not None and due < day_end:
                        fixed.set(max(fixed.now(), due))
                        for name in scheduler.tick()["dispatched"]:
                            runs[name] = runs.get(name, 0) + 1
                            ran_today.append(name)
                finally:
                    scheduler.not_before.reset(floor)
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
