"""API scopes serve purposes, and a test key reaches only synthetic residents, everywhere."""

from __future__ import annotations

import pytest
from django.test import Client

from proactif.accounts import services as accounts
from proactif.alerts.models import Incident
from proactif.audit.models import AccessLog
from proactif.kernel import clock
from proactif.registry.models import Person

pytestmark = pytest.mark.django_db


def bearer(service: str, scopes: list[str], kind: str = "live") -> dict[str, str]:
    _, token = accounts.create_api_key(service, f"clé {kind}", kind, scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def real_person() -> Person:
    """A resident imported from the état civil, not a synthetic one."""
    now = clock.now()
    return Person.objects.create(nom_naissance="REEL", prenoms="Honoré", sexe="M", status="active", source="import",
                                 nom_cle="reel", prenoms_cle="honore", updated_at=now)


@pytest.mark.parametrize(("service", "scope"), [
    ("etat_civil", "alerts:write"), ("etat_civil", "audit:read"), ("communication", "registry:write"),
    ("police_municipale", "audit:read"), ("dpo", "alerts:read"), ("dsi", "registry:read")])
def test_a_scope_the_services_purposes_do_not_cover_is_refused(service: str, scope: str) -> None:
    with pytest.raises(ValueError, match=f"portée {scope} refusée au service {service}"):
        accounts.create_api_key(service, "x", "live", [scope])


def test_each_service_gets_exactly_the_scopes_of_its_purposes() -> None:
    assert accounts.scopes_for_service("etat_civil") == ["journeys:read", "journeys:write", "registry:read",
                                                         "registry:write"]
    assert accounts.scopes_for_service("police_municipale") == ["alerts:read", "alerts:write", "registry:read"]
    assert accounts.scopes_for_service("dpo") == ["audit:read", "registry:read"]
    assert accounts.scopes_for_service("dsi") == []


def test_a_scope_is_dropped_when_the_service_no_longer_serves_its_purpose(client: Client) -> None:
    headers = bearer("police_municipale", ["alerts:read"])
    assert client.post("/api/v1/alerts/count", {"quartiers": []}, content_type="application/json",
                       **headers).status_code == 400  # held: the empty area is refused on its merits
    accounts.get_service("police_municipale").__class__.objects.filter(code="police_municipale").update(
        purposes=["information"])
    assert client.post("/api/v1/alerts/count", {"quartiers": []}, content_type="application/json",
                       **headers).status_code == 403


def test_a_test_key_reads_only_synthetic_residents(client: Client) -> None:
    real = real_person()
    synthetic = Person.objects.filter(source="synth", status="active").first()
    test, live = bearer("etat_civil", ["registry:read"], "test"), bearer("etat_civil", ["registry:read"])
    assert client.get(f"/api/v1/persons/{real.pk}", **test).status_code == 404
    assert client.get(f"/api/v1/persons/{real.pk}", **live).status_code == 200
    assert client.get(f"/api/v1/persons/{synthetic.pk}", **test).status_code == 200
    found = client.get("/api/v1/persons", {"q": "reel honore"}, **test).json()["results"]
    assert real.pk not in [p["id"] for p in found]


def test_a_test_keys_alerts_are_always_exercises(client: Client, test_contacts: list[str]) -> None:
    test = bearer("police_municipale", ["alerts:read", "alerts:write"], "test")
    quartier = Person.objects.filter(household__address__quartier__isnull=False).values_list(
        "household__address__quartier_id", flat=True).first()
    sent = client.post("/api/v1/alerts/", {"type": "coupure_eau", "titre": "Essai", "texte": "Coupure d'eau",
                                           "quartiers": [quartier]}, content_type="application/json", **test)
    assert sent.status_code == 201, sent.content
    incident = Incident.objects.get(pk=sent.json()["incident"])
    assert incident.exercise and sent.json()["exercise"]
    live = Incident.objects.create(type_code="travaux", title="Travaux", status="active", created_by="police",
                                   created_at=clock.now(), updated_at=clock.now())
    assert client.get(f"/api/v1/alerts/{live.pk}", **test).status_code == 404
    update = client.post(f"/api/v1/alerts/{live.pk}/messages", {"kind": "fin", "texte": "Fin"},
                         content_type="application/json", **test)
    assert update.status_code == 404 and live.messages.count() == 0


def test_a_test_keys_access_log_shows_only_what_test_keys_did(client: Client) -> None:
    real = real_person()
    live_reader = bearer("etat_civil", ["registry:read"])
    client.get(f"/api/v1/persons/{real.pk}", **live_reader)  # a real consultation, by a live key
    test_reader = bearer("etat_civil", ["registry:read"], "test")
    synthetic = Person.objects.filter(source="synth", status="active").first()
    client.get(f"/api/v1/persons/{synthetic.pk}", **test_reader)
    rows = client.get("/api/v1/audit/log", {"limit": 1000}, **bearer("dpo", ["audit:read"], "test")).json()
    assert rows and all("(test)" in row["actor_label"] for row in rows)
    assert real.pk not in [row["person_id"] for row in rows]
    everything = client.get("/api/v1/audit/log", {"limit": 1000}, **bearer("dpo", ["audit:read"])).json()
    assert real.pk in [row["person_id"] for row in everything]
    assert AccessLog.objects.filter(person_id=real.pk).exists()


def test_a_test_key_reaches_only_synthetic_residents_journeys(client: Client) -> None:
    from proactif.journeys import services as journeys
    from proactif.registry.models import Document

    real = real_person()
    document = Document.objects.create(person=real, kind="passeport", numero="X1", expires_on=clock.today(),
                                       status="valide", source="mairie", updated_at=clock.now())
    instance = journeys.start("titres-identite", real.pk, subject_id=document.pk)
    test = bearer("etat_civil", ["journeys:read", "journeys:write"], "test")
    assert client.get(f"/api/v1/journeys/instances/{instance.pk}", **test).status_code == 404
    takeover = client.post(f"/api/v1/journeys/instances/{instance.pk}/takeover", {"action": "pause", "reason": "x"},
                           content_type="application/json", **test)
    assert takeover.status_code == 404
    instance.refresh_from_db()
    assert instance.status == "active"
    live = bearer("etat_civil", ["journeys:read"])
    assert client.get(f"/api/v1/journeys/instances/{instance.pk}", **live).status_code == 200
