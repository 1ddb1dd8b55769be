from datetime import timedelta

import pytest

from proactif.kernel import clock, simulation
from proactif.registry.models import Document

pytestmark = pytest.mark.django_db


def test_simulate_runs_daily_jobs_and_persists_the_offset() -> None:
    start = clock.now()
    target = clock.today() + timedelta(days=40)
    soon = Document.objects.filter(status="valide", expires_on__lte=target, expires_on__gte=clock.today()).count()
    assert soon > 0
    try:
        figures = simulation.simulate(target)
        assert figures["days"] == 41
        assert figures["jobs_run"]["registry.refresh_document_statuses"] in (40, 41)
        assert figures["jobs_run"]["registry.refresh_figures"] <= 42  # sub-daily jobs: once a simulated day
        assert Document.objects.filter(status="valide", expires_on__lt=target).count() == 0
        clock.system_clock().forget()
        assert clock.now() - start >= timedelta(days=40)
    finally:
        simulation.reset_offset()
    assert abs(clock.now() - clock.real_now()) < timedelta(seconds=5)


def test_simulate_refuses_the_past() -> None:
    with pytest.raises(ValueError, match="not after"):
        simulation.simulate(clock.today() - timedelta(days=1))
