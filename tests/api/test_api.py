import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from proactif.accounts import services as accounts
from proactif.audit.models import AccessLog
from proactif.registry.models import Person

pytestmark = pytest.mark.django_db


def bearer(service: str = "etat_civil", scopes: tuple[str, ...] = ("registry:read", "registry:write"),
           kind: str = "live") -> dict[str, str]:
    _, token = accounts.create_api_key(service, "client de test", kind, list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_without_a_key_the_api_answers_401(client: Client) -> None:
    assert client.get("/api/v1/persons", {"q": "martin"}).status_code == 401
    assert client.get("/api/v1/persons", {"q": "martin"}, HTTP_AUTHORIZATION="Bearer pf_live_x_y").status_code == 401


def test_search_and_read_with_a_key_are_logged_with_the_key(client: Client) -> None:
    person = Person.objects.filter(status="active", nom_usage="").first()
    headers = bearer()
    found = client.get("/api/v1/persons", {"q": f"{person.nom_naissance} {person.prenom}"}, **headers).json()
    assert found["kind"] == "name" and person.pk in [r["id"] for r in found["results"]]
    file = client.get(f"/api/v1/persons/{person.pk}", **headers).json()
    assert file["purpose"] == "etat_civil" and "documents" in file["sections"] and file["documents"] is not None
    row = AccessLog.objects.filter(person_id=person.pk, action="view").latest("id")
    assert row.actor_kind == "api_key" and row.service == "etat_civil"


def test_a_purpose_outside_the_service_is_refused(client: Client) -> None:
    person = Person.objects.filter(status="active").first()
    response = client.get(f"/api/v1/persons/{person.pk}", {"purpose": "action_sociale"}, **bearer())
    assert response.status_code == 403 and "finalité" in response.json()["detail"]


def test_a_missing_scope_is_refused(client: Client) -> None:
    person = Person.objects.filter(status="active").first()
    response = client.post(f"/api/v1/persons/{person.pk}/consents", {
        "purpose": "information", "decision": "granted", "source": "portail", "text_version": "v1"},
        content_type="application/json", **bearer(scopes=("registry:read",)))
    assert response.status_code == 403 and "registry:write" in response.json()["detail"]


def test_bad_input_gets_a_field_level_4xx(client: Client) -> None:
    person = Person.objects.filter(status="active").first()
    headers = bearer()
    response = client.post(f"/api/v1/persons/{person.pk}/consents", {
        "purpose": "marketing", "decision": "granted", "source": "portail", "text_version": "v1"},
        content_type="application/json", **headers)
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "purpose"]
    response = client.post(f"/api/v1/persons/{person.pk}/consents", {"purpose": "information", "decision": "maybe"},
                           content_type="application/json", **headers)
    assert response.status_code == 422
    fields = {tuple(d["loc"])[-1] for d in response.json()["detail"]}
    assert {"decision", "source", "text_version"} <= fields
    assert client.get("/api/v1/persons", {"q": "a"}, **headers).status_code == 422
    assert client.get("/api/v1/persons/999999999", **headers).status_code == 404


def test_consents_through_the_api(client: Client) -> None:
    person = Person.objects.filter(status="active").first()
    response = client.post(f"/api/v1/persons/{person.pk}/consents", {
        "purpose": "information", "channel": "email", "decision": "granted", "source": "portail",
        "text_version": "2024-06", "proof": {"ip": "192.0.2.1"}}, content_type="application/json", **bearer())
    assert response.status_code == 201
    assert person.consents.get(pk=response.json()["id"]).proof == {"ip": "192.0.2.1"}


def test_import_through_the_api_returns_line_errors(client: Client) -> None:
    content = (b"cle_interop;voie;numero;code_postal;code_insee;commune;lon;lat\n"
               b"21999_ab12_00001;Rue des Tilleuls;1;21999;21999;Belleroche;4.85;47.32\n"
               b"21999_ab12_00003;Rue des Tilleuls;trois;21999;21999;Belleroche;4.85;47.32\n")
    response = client.post("/api/v1/imports/addresses", {"file": SimpleUploadedFile("a.csv", content)}, **bearer())
    body = response.json()
    assert response.status_code == 200 and body["created"] == 1
    assert body["errors"] == [{"line": 3, "field": "numero", "reason": "numéro invalide « trois »"}]


def test_the_access_log_api_needs_the_audit_scope(client: Client) -> None:
    assert client.get("/api/v1/audit/log", **bearer()).status_code == 403
    rows = client.get("/api/v1/audit/log", {"limit": 5}, **bearer(service="dpo", scopes=("audit:read",)))
    assert rows.status_code == 200 and len(rows.json()) <= 5


def test_an_agent_session_uses_the_api_with_csrf(agents: dict) -> None:
    from tests.conftest import PASSWORD

    client = Client(enforce_csrf_checks=True)
    client.get("/connexion/")
    token = client.cookies["csrftoken"].value
    client.post("/connexion/", {"email": "etat_civil@test.proactif.fr", "password": PASSWORD,
                                "csrfmiddlewaretoken": token})
    assert client.get("/api/v1/persons", {"q": "martin"}).status_code == 200
    person = Person.objects.filter(status="active").first()
    payload = {"purpose": "information", "decision": "granted", "source": "guichet", "text_version": "v1"}
    assert client.post(f"/api/v1/persons/{person.pk}/consents", payload,
                       content_type="application/json").status_code in (401, 403)
    assert client.post(f"/api/v1/persons/{person.pk}/consents", payload, content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value).status_code == 201


def test_openapi_document_describes_the_api(client: Client, agents: dict) -> None:
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):  # for the collectivité's agents, not the internet
        anonymous = client.get(path)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/connexion/")
    client.force_login(agents["communication"])
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/persons", "/api/v1/persons/{person_id}", "/api/v1/imports/{kind}"} <= set(spec["paths"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_a_test_key_reaches_only_synthetic_residents(client: Client) -> None:
    real = Person.objects.filter(status="active").first()
    Person.objects.filter(pk=real.pk).update(source="import")
    synthetic = Person.objects.filter(status="active", source="synth", nom_usage="").first()
    headers = bearer(kind="test")
    assert client.get(f"/api/v1/persons/{real.pk}", **headers).status_code == 404
    assert client.get(f"/api/v1/persons/{synthetic.pk}", **headers).status_code == 200
    found = client.get("/api/v1/persons", {"q": real.nom_naissance}, **headers).json()["results"]
    assert real.pk not in [r["id"] for r in found]
    assert client.get(f"/api/v1/persons/{real.pk}", **bearer(kind="live")).status_code == 200
    upload = SimpleUploadedFile("a.csv", b"cle_interop;voie\n")
    assert client.post("/api/v1/imports/addresses", {"file": upload}, **headers).status_code == 403
