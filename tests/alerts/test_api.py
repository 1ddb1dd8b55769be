"""The alerts API: an API key of the police municipale sends an alert on an area (201 with the recipients),
an update and the end; bad input answers 400 with the reason and sends nothing; scopes are enforced."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from proactif.accounts import services as accounts
from proactif.alerts.models import Incident
from proactif.geo import services as geo
from proactif.messaging.models import OutboxMessage
from proactif.registry.models import Address, Quartier

pytestmark = pytest.mark.django_db


def bearer(scopes: tuple[str, ...] = ("alerts:read", "alerts:write")) -> dict[str, str]:
    _, token = accounts.create_api_key("police_municipale", "sirène connectée", "live", list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_an_api_client_alerts_updates_and_resolves(client: Client, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    geo.forget_index()
    quartier = max(Quartier.objects.all(), key=lambda q: Address.objects.filter(quartier=q).count())
    headers = bearer()
    area = {"type": "Feature", "properties": {}, "geometry": quartier.geometry}
    counted = client.post("/api/v1/alerts/count", json.dumps({"areas": area}), content_type="application/json",
                          **headers)
    assert counted.status_code == 200
    residents = counted.json()["residents"]
    created = client.post("/api/v1/alerts/", json.dumps({"areas": area, "type": "inondation", "titre": "Crue",
                                                          "texte": "Montée des eaux cette nuit."}),
                          content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["recipients"] == residents > 0 and body["status"] == "active"
    incident_id = body["incident"]
    update = client.post(f"/api/v1/alerts/{incident_id}/messages", json.dumps({"kind": "fin", "texte": "Décrue."}),
                         content_type="application/json", **headers)
    assert update.status_code == 201 and update.json()["seq"] == 2
    again = client.post(f"/api/v1/alerts/{incident_id}/messages", json.dumps({"kind": "fin", "texte": "Encore."}),
                        content_type="application/json", **headers)
    assert again.status_code == 400 and "déjà été annoncée" in again.json()["detail"]
    read = client.get(f"/api/v1/alerts/{incident_id}", **headers).json()
    assert [m["kind"] for m in read["messages"]] == ["alerte", "fin"] and read["status"] == "resolue"
    cap = client.get(f"/api/v1/alerts/{incident_id}/cap/2", **headers)
    assert cap.status_code == 200 and b"AllClear" in cap.content
    assert client.get("/api/v1/alerts/999999", **headers).status_code == 404


def test_bad_input_is_refused_with_its_reason_and_sends_nothing(client: Client) -> None:
    headers = bearer()
    before = Incident.objects.count(), OutboxMessage.objects.count()
    line = {"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.9]]}
    refused = client.post("/api/v1/alerts/", json.dumps({"areas": line, "type": "autre", "titre": "x", "texte": "y"}),
                          content_type="application/json", **headers)
    assert refused.status_code == 400 and "non pris en charge" in refused.json()["detail"]
    unknown = client.post("/api/v1/alerts/", json.dumps({"voies": [1], "type": "meteorite", "titre": "x",
                                                          "texte": "y"}), content_type="application/json", **headers)
    assert unknown.status_code == 422
    empty = client.post("/api/v1/alerts/", json.dumps({"voies": [1], "type": "autre", "titre": "x", "texte": " "}),
                        content_type="application/json", **headers)
    assert empty.status_code == 400 and "français" in empty.json()["detail"]
    assert (Incident.objects.count(), OutboxMessage.objects.count()) == before
    read_only = bearer(("alerts:read",))
    assert client.post("/api/v1/alerts/", json.dumps({"voies": [1], "type": "autre", "titre": "x", "texte": "y"}),
                       content_type="application/json", **read_only).status_code == 403
