"""Pages that change while watched refresh a part of themselves: the fragment names no one (no access-log row),
carries the sentence announced to screen readers, and says when the refresh may stop."""

from __future__ import annotations

import pytest
from django.test import Client

from proactif.accounts.domain import system_actor
from proactif.alerts import services as alerts
from proactif.alerts.models import Incident
from proactif.audit.models import AccessLog
from proactif.registry.models import Quartier
from proactif.rights.models import ScreeningRun

pytestmark = pytest.mark.django_db


def test_the_incident_delivery_refreshes_without_reading_anyone(agents, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 1
    incident = alerts.create(system_actor("police-1"), alerts.Draft(
        "coupure_eau", "Coupure", [], [], [Quartier.objects.first().pk], []))
    alerts.send(system_actor("police-1"), incident.pk, "alerte", {"fr": "Coupure d'eau."})
    police = Client()
    police.force_login(agents["police"])
    page = police.get(f"/alertes/{incident.pk}/").content.decode()
    assert 'data-live-url="?live=1"' in page and 'aria-live="polite"' in page and 'aria-pressed="false"' in page
    before = AccessLog.objects.count()
    fragment = police.get(f"/alertes/{incident.pk}/", {"live": 1}).content.decode()
    assert "<html" not in fragment and "data-live-summary" in fragment and "data-live-done" not in fragment
    assert AccessLog.objects.count() == before
    Incident.objects.filter(pk=incident.pk).update(status="close")
    assert "data-live-done" in police.get(f"/alertes/{incident.pk}/", {"live": 1}).content.decode()
    assert police.get(f"/alertes/{incident.pk}/").content.decode().count("data-live-toggle") == 0


def test_a_running_screening_shows_its_progress_and_stops_when_done(agents) -> None:
    from proactif.kernel import clock

    run = ScreeningRun.objects.create(period="2026-11", benefits=["rsa"], status="running", households_total=4000,
                                      households_done=1000, model_version="test", started_by="test",
                                      created_at=clock.now())
    ccas = Client()
    ccas.force_login(agents["ccas"])
    page = ccas.get(f"/droits/criblages/{run.pk}/").content.decode()
    assert "data-live-reload-when-done" in page and "Suspendre l’actualisation automatique" in page
    fragment = ccas.get(f"/droits/criblages/{run.pk}/", {"live": 1}).content.decode()
    assert "1\u202f000 foyers sur 4\u202f000 (25\u00a0%)" in fragment
    assert "data-live-done" not in fragment
    ScreeningRun.objects.filter(pk=run.pk).update(status="done", households_done=4000)
    assert "data-live-done" in ccas.get(f"/droits/criblages/{run.pk}/", {"live": 1}).content.decode()
