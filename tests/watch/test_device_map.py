"""The devices' map: every device lent today at its person's home, in the state it last said — the person's
gravest open alert first, then offline, silent, battery low, never connected, online — the same in the table and
in the map's JSON; its persons logged as on the desk (once a quarter of an hour, not at each refresh); kept for
prévention santé."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from proactif.audit.models import AccessLog
from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import Device, DeviceLoan
from tests.watch.test_alerts import oximeter, spo2
from tests.watch.test_desk import logged_in, resident

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 7, 14, 9, 0, tzinfo=UTC)


def lent(serial: str, person_id: int, **fields: object) -> Device:
    device, _ = telemetry.register_device(serial, "constantes", 900)
    telemetry.lend(device, person_id, date(2026, 7, 1))
    Device.objects.filter(pk=device.pk).update(**fields)
    return device


def test_each_device_is_shown_in_the_state_it_last_said_the_gravest_first(agents) -> None:
    fixed = clock.FixedClock(NOW)
    with clock.use(fixed):
        sick, quiet, offline, tired, fine, never = (resident(i) for i in range(6))
        spo2(oximeter(sick), [84] * 8, start=NOW - timedelta(hours=1))  # a critical alert opens
        lent("CARTE-SILENCE", quiet, state="en_ligne", last_seen_at=NOW - timedelta(hours=1))
        lent("CARTE-HORS", offline, state="hors_ligne", last_seen_at=NOW - timedelta(minutes=5))
        lent("CARTE-PILE", tired, state="en_ligne", last_seen_at=NOW - timedelta(minutes=5), battery=12)
        lent("CARTE-OK", fine, state="en_ligne", last_seen_at=NOW - timedelta(minutes=5), battery=80)
        lent("CARTE-NEUF", never)
        returned = lent("CARTE-RENDU", resident(6), state="en_ligne", last_seen_at=NOW)
        DeviceLoan.objects.filter(device=returned).update(end_on=date(2026, 7, 10))  # given back: not shown
        client = logged_in(agents)
        body = client.get("/veille/appareils/?points=1").json()
        statuses = [(p["serial"], p["status"]) for p in body["points"]]
        assert statuses[0][1] == "critique"
        assert dict(statuses[1:]) == {"CARTE-HORS": "hors_ligne", "CARTE-SILENCE": "silencieux",
                                      "CARTE-PILE": "batterie", "CARTE-NEUF": "inconnu", "CARTE-OK": "en_ligne"}
        assert [s for _, s in statuses] == sorted((s for _, s in statuses), key=[
            "critique", "alerte", "hors_ligne", "silencieux", "batterie", "inconnu", "en_ligne"].index)
        homes = registry.residents([sick, fine])
        placed = {p["serial"]: (p["lon"], p["lat"]) for p in body["points"]}
        assert placed["CARTE-OK"] == (homes[fine].lon, homes[fine].lat) and homes[fine].lon is not None
        assert all(p["url"].startswith("/veille/personnes/") for p in body["points"])

        page = client.get("/veille/appareils/")
        html = page.content.decode().replace("\u202f", " ").replace("\xa0", " ")  # French spacing before : and %
        assert page.status_code == 200 and "Carte des appareils et de leur état" in html
        assert "Hors ligne : 1" in html and "Batterie faible : 1" in html and "12 %" in html
        assert 'id="appareils-points"' in html  # the map's first dots, without a second request
        logged = AccessLog.objects.filter(section="veille", person_id__in=[sick, quiet, offline, tired, fine, never])
        assert logged.count() == 6  # the JSON and the page in one quarter of an hour: one row per person
        client.get("/veille/appareils/?live=1")
        assert logged.count() == 6
        fixed.set(NOW + timedelta(minutes=16))
        client.get("/veille/appareils/?live=1")
        assert logged.count() == 12


def test_the_map_is_kept_for_prevention_sante(agents) -> None:
    with clock.use(clock.FixedClock(NOW)):
        lent("CARTE-X", resident(0), state="en_ligne", last_seen_at=NOW)
        for who in ("ccas", "police"):
            client = Client()
            client.force_login(agents[who])
            assert client.get("/veille/appareils/?points=1").status_code == 403
            assert client.get("/veille/appareils/quartiers.json").status_code == 403
        layer = logged_in(agents).get("/veille/appareils/quartiers.json")
        assert layer.status_code == 200 and layer.json()["type"] == "FeatureCollection"
