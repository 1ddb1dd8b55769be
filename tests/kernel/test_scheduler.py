from datetime import UTC, datetime, time, timedelta

import pytest

from proactif.kernel import clock, executor, scheduler
from proactif.kernel.models import ScheduledJob

pytestmark = pytest.mark.django_db

CALLS: list[datetime] = []


@scheduler.periodic(every=timedelta(days=1), at=time(6, 0))
def morning_job() -> None:
    CALLS.append(clock.now())


NAME = "tests.kernel.test_scheduler.morning_job"


@pytest.fixture(autouse=True)
def inline() -> None:
    CALLS.clear()
    executor.set_backend(executor.InlineBackend())
    yield
    executor.set_backend(None)


def test_next_run_follows_local_wall_clock_time() -> None:
    job = scheduler.registered()[NAME]
    # 28 March 2026, 10:00 UTC → next 06:00 Paris is 29 March 06:00 CEST = 04:00 UTC (DST change)
    assert job.next_after(datetime(2026, 3, 28, 10, tzinfo=UTC)) == datetime(2026, 3, 29, 4, tzinfo=UTC)


def test_a_due_job_runs_once_and_moves_to_its_next_time() -> None:
    with clock.use(clock.FixedClock(datetime(2026, 11, 28, 4, tzinfo=UTC))):
        scheduler.ensure_rows()
        assert ScheduledJob.objects.get(name=NAME).next_run_at == datetime(2026, 11, 28, 5, tzinfo=UTC)
    with clock.use(clock.FixedClock(datetime(2026, 11, 28, 5, 30, tzinfo=UTC))):
        first = scheduler.tick()
        second = scheduler.tick()
    assert NAME in first["dispatched"]
    assert NAME not in second["dispatched"]
    assert len(CALLS) == 1
    row = ScheduledJob.objects.get(name=NAME)
    assert row.last_status == "ok" and row.runs == 1 and row.lease_until is None
    assert row.next_run_at == datetime(2026, 11, 29, 5, tzinfo=UTC)


def test_a_claim_held_by_another_scheduler_is_not_taken_until_its_lease_expires() -> None:
    at = datetime(2026, 11, 28, 5, 30, tzinfo=UTC)
    with clock.use(clock.FixedClock(at)):
        scheduler.ensure_rows(at - timedelta(days=1))
        assert NAME in scheduler.claim_due(at)  # a scheduler claims it and dies before finishing
        assert NAME not in scheduler.claim_due(at + timedelta(minutes=10))
        assert NAME in scheduler.claim_due(at + timedelta(hours=2))  # lease (1 h) expired: re-claimed
