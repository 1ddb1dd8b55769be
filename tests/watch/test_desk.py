"""The watch desk: open alerts, the gravest first, their persons named and logged once per session within 15
minutes (not at each refresh); acknowledge and resolve from the desk; a person's watch page with their vitals and
thresholds, logged; kept for prévention santé."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from proactif.audit.models import AccessLog
from proactif.kernel import clock
from proactif.watch.models import Alert
from tests.watch.test_alerts import oximeter, spo2

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 7, 14, 9, 0, tzinfo=UTC)


def resident(skip: int = 0) -> int:
    from proactif.registry.models import Person

    return int(Person.objects.filter(status="active").order_by("id").values_list("id", flat=True)[skip])


def logged_in(agents: dict, who: str = "sante") -> Client:
    client = Client()
    client.force_login(agents[who])
    return client


def test_the_desk_shows_the_gravest_first_and_logs_its_persons_once_per_quarter_hour(agents) -> None:
    fixed = clock.FixedClock(NOW)
    with clock.use(fixed):
        person_id = resident(1)
        spo2(oximeter(person_id), [86] * 8, start=NOW - timedelta(hours=1))
        alert = Alert.objects.get(person_id=person_id)
        client = logged_in(agents)
        page = client.get("/veille/pupitre/")
        assert page.status_code == 200 and f"alerte-{alert.pk}" in page.content.decode()
        assert AccessLog.objects.filter(person_id=person_id, section="veille").count() == 1
        assert client.get("/veille/pupitre/?live=1").status_code == 200
        assert AccessLog.objects.filter(person_id=person_id, section="veille").count() == 1  # a refresh: nothing
        fixed.set(NOW + timedelta(minutes=16))
        client.get("/veille/pupitre/?live=1")
        assert AccessLog.objects.filter(person_id=person_id, section="veille").count() == 2


def test_an_alert_is_acknowledged_then_resolved_from_the_desk(agents) -> None:
    spo2(oximeter(8282), [86] * 8)
    alert = Alert.objects.get(person_id=8282)
    client = logged_in(agents)
    url = f"/veille/alertes/{alert.pk}/"
    assert client.post(url, {"action": "effacer"}).status_code == 400
    assert client.post(url, {"action": "acquitter", "note": "j'appelle"}).status_code == 302
    assert client.post(url, {"action": "acquitter"}).status_code == 409
    assert client.post(url, {"action": "resoudre"}).status_code == 409  # a resolution needs its note
    assert client.post(url, {"action": "resoudre", "note": "capteur mal posé"}).status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.note) == ("resolue", "capteur mal posé")
    assert client.post("/veille/alertes/999999999/", {"action": "acquitter"}).status_code == 404
    assert logged_in(agents, "police").post(url, {"action": "resoudre", "note": "x"}).status_code == 403


def test_a_persons_watch_page_shows_their_vitals_against_thresholds_and_is_logged(agents) -> None:
    person_id = resident(2)
    spo2(oximeter(person_id), [95, 94, 96, 88, 87, 86, 86, 86], start=clock.now() - timedelta(hours=2))
    page = logged_in(agents).get(f"/veille/personnes/{person_id}/")
    html = page.content.decode()
    assert page.status_code == 200 and "Saturation en oxygène" in html and "seuil bas" in html.lower()
    assert list(AccessLog.objects.filter(person_id=person_id, section="veille").values_list("action", flat=True)) \
        == ["view"]
    assert logged_in(agents).get("/veille/personnes/999999999/").status_code == 404


def test_a_shift_with_an_impossible_date_is_refused_with_a_400_not_a_500(agents) -> None:
    from proactif.watch.models import OnCallShift

    client = logged_in(agents)
    for start in ("2026-13-45T10:00", "demain", ""):
        answer = client.post("/veille/astreinte/", {"agent": "Camille", "telephone": "06 10 20 30 40",
                                                   "debut": start, "fin": "2026-07-15T08:00"})
        assert answer.status_code == 400 and "début et fin attendus" in answer.content.decode()
    assert not OnCallShift.objects.exists()
