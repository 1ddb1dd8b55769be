"""FHIR observations over HTTP: a device with its own token, a gateway with an API key holding `watch:ingest`;
readings stored once; a forged token, a resource naming another device, a malformed resource refused — the field
named, the message kept in the dead-letter list."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client

from proactif.accounts import services as accounts
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import DeadLetter, Observation

pytestmark = pytest.mark.django_db


def heart_rate(value: float = 72, device: str | None = None, at: str = "2026-07-14T08:00:00+02:00") -> dict:
    observation = {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": "Patient/example"}, "effectiveDateTime": at,
        "valueQuantity": {"value": value, "unit": "beats/minute", "system": "http://unitsofmeasure.org",
                          "code": "/min"}}
    if device:
        observation["device"] = {"identifier": {"value": device}}
    return observation


def post(client: Client, url: str, body: object, token: str) -> object:
    return client.post(url, json.dumps(body), content_type="application/fhir+json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_device_posts_its_readings_with_its_own_token_once_each() -> None:
    device, token = telemetry.register_device("FC-0001", "constantes", 300)
    telemetry.lend(device, 5151, date(2026, 7, 1))
    client = Client()
    url = f"/api/v1/watch/appareils/{device.serial}/fhir"
    first = post(client, url, heart_rate(), token)
    assert first.status_code == 200 and first.json() == {"stored": 1, "duplicates": 0, "refused": []}
    assert post(client, url, heart_rate(), token).json()["duplicates"] == 1
    assert Observation.objects.get(device=device).person_id == 5151
    assert post(client, url, heart_rate(), token + "x").status_code == 401
    assert post(client, url, heart_rate(), "").status_code == 401
    other = post(client, url, heart_rate(90, device="FC-9999", at="2026-07-14T09:00:00+02:00"), token).json()
    assert other["stored"] == 0 and other["refused"][0]["champ"] == "Observation.device"
    bad = heart_rate()
    bad["valueQuantity"]["value"] = "beaucoup"
    refused = post(client, url, bad, token)
    assert refused.status_code == 422 and "Observation.valueQuantity.value" in refused.json()["detail"]
    assert Observation.objects.filter(device=device).count() == 1
    assert DeadLetter.objects.filter(channel="fhir").count() == 2


def test_a_gateway_needs_the_ingest_scope_and_routes_by_device() -> None:
    device, _ = telemetry.register_device("FC-0002", "constantes", 300)
    telemetry.lend(device, 6161, date(2026, 7, 1))
    _, allowed = accounts.create_api_key("sante_prevention", "passerelle", "live", ["watch:ingest"])
    client = Client()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": heart_rate(70, device="FC-0002")}, {"resource": heart_rate(71, device="INCONNU")}]}
    answer = post(client, "/api/v1/watch/fhir", bundle, allowed)
    assert answer.status_code == 200
    assert answer.json()["stored"] == 1 and "appareil inconnu" in answer.json()["refused"][0]["motif"]
    with pytest.raises(ValueError, match="watch:ingest"):
        accounts.create_api_key("etat_civil", "passerelle", "live", ["watch:ingest"])
    _, other_scope = accounts.create_api_key("etat_civil", "registre", "live", ["registry:read"])
    assert post(client, "/api/v1/watch/fhir", bundle, other_scope).status_code == 403
