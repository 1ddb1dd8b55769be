"""Bad input gets a clear 4xx, as JSON on the API, never a 500: ids past a BIGINT in paths, queries and bodies,
dates at the ends of the calendar, areas that are not areas, bodies that are not objects. And the OpenAPI
declares every status an operation can answer, with the error's shape."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from proactif.accounts import services as accounts
from proactif.registry.models import Person

pytestmark = pytest.mark.django_db

HUGE = 2**63  # one past the largest BIGINT
POINT = {"type": "Point", "coordinates": [2.35, 48.86]}


def bearer(service: str, scopes: list[str]) -> dict[str, str]:
    _, token = accounts.create_api_key(service, "mauvaises entrées", "live", scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def police() -> dict[str, str]:
    return bearer("police_municipale", ["alerts:read", "alerts:write"])


def refused(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("body", [{"quartiers": [HUGE]}, {"voies": [HUGE]}, {"adresses": [HUGE]},
                                  {"quartiers": [99999999999999999999]}, {"adresses": [0]}])
def test_ids_past_a_bigint_in_a_body_are_a_422_naming_the_field(client: Client, police, body) -> None:
    detail = refused(client.post("/api/v1/alerts/count", body, content_type="application/json", **police), 422)
    assert detail["detail"][0]["loc"][-2] == next(iter(body))
    sent = {"type": "autre", "titre": "t", "texte": "x", **body}
    refused(client.post("/api/v1/alerts/", sent, content_type="application/json", **police), 422)


def test_ids_past_a_bigint_in_api_paths_and_queries_are_a_422(client: Client, police) -> None:
    refused(client.get(f"/api/v1/alerts/{HUGE}", **police), 422)
    refused(client.get(f"/api/v1/alerts/1/cap/{HUGE}", **police), 422)
    refused(client.get(f"/api/v1/alerts/{HUGE}/cap/1", **police), 422)
    dpo = bearer("dpo", ["audit:read"])
    refused(client.get("/api/v1/audit/log", {"person_id": HUGE}, **dpo), 422)
    registry = bearer("etat_civil", ["registry:read", "registry:write", "journeys:read"])
    refused(client.get(f"/api/v1/persons/{HUGE}", **registry), 422)
    refused(client.get(f"/api/v1/journeys/instances/{HUGE}", **registry), 422)
    assert client.get(f"/api/v1/persons/{HUGE - 1}", **registry).status_code == 404


def test_every_declared_page_with_an_id_matches_at_most_18_digits(client: Client, agents) -> None:
    """`<int:…>` of every declared route is matched by the `id` converter: a larger number is no route (404)."""
    for path in (f"/alertes/{HUGE}/cap/1.xml", f"/alertes/1/cap/{HUGE}.xml", f"/habitants/{HUGE}/",
                 f"/habitants/{10**18}/"):
        with pytest.raises(Resolver404):
            resolve(path)
    assert resolve(f"/habitants/{10**18 - 1}/").kwargs == {"person_id": 10**18 - 1}
    client.force_login(agents["police"])
    assert client.get(f"/alertes/{HUGE}/").status_code == 404


def test_the_first_and_last_days_of_the_calendar_filter_the_access_log(client: Client, agents) -> None:
    dpo = bearer("dpo", ["audit:read"])
    rows = client.get("/api/v1/audit/log", {"since": "0001-01-01", "until": "9999-12-31"}, **dpo)
    assert rows.status_code == 200 and isinstance(rows.json(), list)
    client.force_login(agents["dpo"])
    assert client.get("/dpo/journal/", {"du": "0001-01-01", "au": "9999-12-31"}).status_code == 200
    assert client.get("/dpo/journal.csv", {"du": "0001-01-01"}).status_code == 200
    assert client.get("/dpo/journal/", {"personne": str(HUGE)}).status_code == 200  # « un nombre » on the page
    assert client.get("/dpo/droits/", {"personne": "999999999999999999"}).status_code == 404


@pytest.mark.parametrize(("areas", "reason"), [
    ({"type": "Feature", "properties": {"radius": -5}, "geometry": POINT}, "rayon positif"),
    ({"type": "Feature", "properties": {"radius": 1e300}, "geometry": POINT}, "trop grand"),
    ({"type": "Feature", "properties": {"radius": "NaN"}, "geometry": POINT}, "rayon positif"),
    ({"type": "FeatureCollection", "features": [[1, 2]]}, "non pris en charge"),
    ({"type": "Feature", "properties": {}, "geometry": [1, 2]}, "objets"),
])
def test_areas_that_are_not_areas_are_a_400_with_the_reason(client: Client, police, areas, reason) -> None:
    detail = refused(client.post("/api/v1/alerts/count", {"areas": areas}, content_type="application/json",
                                 **police), 400)["detail"]
    assert detail.startswith("areas :") and reason in detail


def test_a_nan_radius_in_the_json_itself_is_a_400(client: Client, police) -> None:
    body = '{"areas": {"type": "Feature", "properties": {"radius": NaN}, "geometry": ' + json.dumps(POINT) + "}}"
    assert "rayon positif" in refused(client.post("/api/v1/alerts/count", body, content_type="application/json",
                                                  **police), 400)["detail"]


def test_3d_coordinates_are_accepted(client: Client, police) -> None:
    ring = [[2.3, 48.85, 35], [2.4, 48.85, 35], [2.4, 48.9, 35], [2.3, 48.85, 35]]
    response = client.post("/api/v1/alerts/count", {"areas": {"type": "Polygon", "coordinates": [ring]}},
                           content_type="application/json", **police)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("body", ["[1, 2]", '"zone"', "3", "null"])
def test_a_body_that_is_not_an_object_is_a_422(client: Client, police, body: str) -> None:
    detail = refused(client.post("/api/v1/alerts/count", body, content_type="application/json", **police), 422)
    assert "un objet JSON est attendu" in detail["detail"][0]["msg"]
    person = Person.objects.filter(status="active").first()
    registry = bearer("etat_civil", ["registry:write"])
    refused(client.post(f"/api/v1/persons/{person.pk}/opt-outs", body, content_type="application/json",
                        **registry), 422)


@pytest.mark.parametrize("body", ['{"areas": ' + "[" * 5000 + "]" * 5000 + "}",
                                  '{"areas": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}", "{pas du JSON"])
def test_deep_nesting_or_broken_json_is_a_400(client: Client, police, body: str) -> None:
    refused(client.post("/api/v1/alerts/count", body, content_type="application/json", **police), 400)


def test_the_openapi_declares_every_status_with_the_error_shape(client: Client, agents) -> None:
    client.force_login(agents["admin"])
    spec = client.get("/api/v1/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            declared = operation["responses"]
            expected = {"400", "404", "422"} | ({"401", "403"} if "x-scope" in operation else set())
            assert expected <= set(declared), (method, path, sorted(declared))
            for status in expected:
                assert declared[status]["content"]["application/json"]["schema"] == error, (method, path, status)
    assert "401" in spec["paths"]["/api/v1/messaging/receipts/{provider}"]["post"]["responses"]  # its signature
    assert set(spec["components"]["schemas"]["ErrorOut"]["properties"]) == {"detail"}


@pytest.mark.parametrize("body", [{"voies": [HUGE]}, {"quartiers": ["12a"]}, {"adresses": [-1]},
                                  '{"areas": ' + "[" * 5000 + "]" * 5000 + "}", "[1, 2]",
                                  {"areas": {"type": "Feature", "properties": {"radius": 1e300}, "geometry": POINT}}])
def test_the_map_counts_nothing_from_bad_input_and_says_why(client: Client, agents, body) -> None:
    client.force_login(agents["police"])
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/alertes/compter/", data, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]
