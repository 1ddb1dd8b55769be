"""Periodic jobs, claimed durably so that any number of schedulers never run one twice.

A job is due when its row's `next_run_at` has passed and nobody holds a live lease on it. Claiming
sets the lease in one conditional UPDATE; the job's completion moves `next_run_at` forward. A
claimer that dies simply lets its lease expire and the job is claimed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from proactif.kernel import clock
from proactif.kernel.executor import enqueue, get_backend, task
from proactif.kernel.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    task_name: str
    every: timedelta
    at: time | None  # local wall-clock time for daily (or longer) jobs
    lease: timedelta
    # For jobs that poll data (outbox, journeys): when the data next needs them. A simulation jumps
    # straight to that moment instead of polling every few seconds.
    due: Callable[[], datetime | None] | None = None

    def next_after(self, moment: datetime) -> datetime:
        if self.at is None:
            return moment + self.every
        local = moment.astimezone(clock.local_tz())
        candidate = clock.local_datetime(local.date(), self.at.hour, self.at.minute)
        while candidate <= moment:
            candidate = clock.local_datetime((candidate + self.every).date(), self.at.hour, self.at.minute)
        return candidate


_PERIODIC: dict[str, Periodic] = {}



def periodic(every: timedelta, at: time | None = None, lease: timedelta = timedelta(hours=1),
             queue: str = "batch", due: Callable[[], datetime | None] | None = None,
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a no-argument task that runs every `every` (at local time `at` when given)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = task(queue=queue)(fn)
        name = fn.task_name  # type: ignore[attr-defined]
        _PERIODIC[name] = Periodic(name, name, every, at, lease, due)
        return fn

    return register


def registered() -> dict[str, Periodic]:
    from proactif.kernel.executor import discover_tasks

    discover_tasks()
    return dict(_PERIODIC)


def ensure_rows(now: datetime | None = None) -> None:
    from proactif.kernel.models import ScheduledJob

    now = now or clock.now()
    existing = set(ScheduledJob.objects.values_list("name", flat=True))
    for job in registered().values():
        if job.name not in existing:
            ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": job.next_after(now)})


def claim_due(now: datetime | None = None, only: list[str] | None = None) -> list[str]:
    """Claim every due job (one conditional UPDATE each) and return the names claimed."""
    from proactif.kernel.models import ScheduledJob

    now = now or clock.now()
    ensure_rows(now)
    jobs = registered()
    claimed = []
    due = ScheduledJob.objects.filter(next_run_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)).values_list("name", "lease_until")
    if only is not None:
        due = due.filter(name__in=only)
    for name, lease_until in due:
        job = jobs.get(name)
        if job is None:
            continue
        won = ScheduledJob.objects.filter(name=name, lease_until=lease_until, next_run_at__lte=now).update(
            lease_until=now + job.lease, last_started_at=now)
        if won:
            claimed.append(name)
    return claimed


def finish(name: str, ok: bool, error: str = "") -> None:
    from django.db.models import F

    from proactif.kernel.models import ScheduledJob

    now = clock.now()
    job = registered()[name]
    next_run = job.next_after(now) if ok else now + min(job.every, timedelta(minutes=5))
    ScheduledJob.objects.filter(name=name).update(
        lease_until=None, last_finished_at=now, last_status="ok" if ok else "error",
        last_error=error[:2000], next_run_at=next_run, runs=F("runs") + 1)


@task(queue="batch", name="kernel.run_periodic")
def run_periodic(name: str) -> Any:
    """Wrapper the scheduler enqueues: runs the job and records its outcome on its row."""
    from proactif.kernel.executor import run_task

    try:
        result = run_task(name)
    except Exception as exc:
        with transaction.atomic():
            finish(name, ok=False, error=f"{type(exc).__name__}: {exc}")
        raise
    finish(name, ok=True)
    return result


def tick(now: datetime | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Claim the due jobs (only those named, when given) and hand them to the executor. Returns figures."""
    claimed = claim_due(now, only)
    for name in claimed:
        enqueue("kernel.run_periodic", name)
    if claimed:
        log.info("periodic jobs dispatched", jobs=claimed, executor=get_backend().mode)
    return {"dispatched": claimed, "executor": get_backend().mode}


def next_due_at() -> datetime | None:
    from proactif.kernel.models import ScheduledJob

    ensure_rows()
    return ScheduledJob.objects.order_by("next_run_at").values_list("next_run_at", flat=True).first()


def make_due(names: list[str], moment: datetime) -> None:
    """Mark jobs due at `moment` (a simulation running them when their data needs them)."""
    from proactif.kernel.models import ScheduledJob

    ensure_rows(moment)
    ScheduledJob.objects.filter(name__in=names).update(next_run_at=moment, lease_until=None)


def job_state(name: str) -> dict[str, Any]:
    """What a periodic job kept from its previous run (empty the first time)."""
    from proactif.kernel.models import ScheduledJob

    return dict(ScheduledJob.objects.filter(name=name).values_list("state", flat=True).first() or {})


def set_job_state(name: str, state: dict[str, Any]) -> None:
    from proactif.kernel.models import ScheduledJob

    ScheduledJob.objects.filter(name=name).update(state=state)
