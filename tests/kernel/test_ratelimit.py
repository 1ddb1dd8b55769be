"""The request budget shared by every process (`kernel.ratelimit`): windows in the database, keyed hashes."""

from datetime import timedelta

import pytest

from proactif.kernel import clock, ratelimit
from proactif.kernel.models import RequestWindow

pytestmark = pytest.mark.django_db


def test_a_budget_is_spent_refused_with_the_wait_and_a_refusal_costs_nothing(fixed_clock) -> None:
    assert ratelimit.take("essai", "203.0.113.7", 40, 60) is None
    assert ratelimit.take("essai", "203.0.113.7", 15, 60) is None
    wait = ratelimit.take("essai", "203.0.113.7", 10, 60)  # 65 > 60
    assert wait is not None and 1 <= wait <= 60
    row = RequestWindow.objects.get(scope="essai")
    assert row.count == 55  # the refused 10 were taken back
    assert ratelimit.take("essai", "203.0.113.7", 5, 60) is None  # exactly the share left
    assert ratelimit.take("essai", "203.0.113.7", 1, 60) is not None


def test_subjects_and_scopes_have_their_own_budgets_under_a_keyed_hash(fixed_clock) -> None:
    assert ratelimit.take("essai", "203.0.113.7", 60, 60) is None
    assert ratelimit.take("essai", "203.0.113.8", 60, 60) is None
    assert ratelimit.take("autre", "203.0.113.7", 60, 60) is None
    subjects = set(RequestWindow.objects.values_list("subject", flat=True))
    assert len(subjects) == 3 and not any("203.0.113" in s for s in subjects)
    assert ratelimit.subject_key("essai", "203.0.113.7") != ratelimit.subject_key("autre", "203.0.113.7")


def test_the_next_window_starts_afresh_and_removes_the_subjects_older_ones(fixed_clock) -> None:
    assert ratelimit.take("essai", "203.0.113.7", 60, 60) is None
    assert ratelimit.take("essai", "203.0.113.9", 10, 60) is None
    fixed_clock.advance(timedelta(seconds=61))
    assert ratelimit.take("essai", "203.0.113.7", 60, 60) is None
    assert RequestWindow.objects.filter(subject=ratelimit.subject_key("essai", "203.0.113.7")).count() == 1
    assert RequestWindow.objects.count() == 2  # the other subject's window waits for the purge
    fixed_clock.advance(timedelta(hours=2))
    assert ratelimit.purge() == 2 and not RequestWindow.objects.exists()


def test_the_wait_runs_to_the_end_of_the_window(fixed_clock) -> None:
    start = int(clock.now().timestamp() // 60) * 60
    assert ratelimit.take("essai", "x", 2, 1) == start + 60 - int(clock.now().timestamp())


def test_check_reads_what_take_would_answer_without_spending(fixed_clock) -> None:
    assert ratelimit.check("essai", "x", 60, 60) is None and not RequestWindow.objects.exists()
    assert ratelimit.take("essai", "x", 50, 60) is None
    assert ratelimit.check("essai", "x", 10, 60) is None
    assert ratelimit.check("essai", "x", 11, 60) is not None
    assert RequestWindow.objects.get().count == 50
