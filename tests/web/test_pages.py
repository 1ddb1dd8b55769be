"""Every page renders for the roles that may open it, refuses the others, and logs what it reads."""

import pytest
from django.test import Client
from django.urls import reverse

from proactif.accounts import services as accounts
from proactif.audit.models import AccessLog
from proactif.registry.models import MergeSuggestion, Person
from tests.conftest import PASSWORD, fr

pytestmark = pytest.mark.django_db


def logged_in(client: Client, who: str) -> Client:
    response = client.post(reverse("accounts:login"), {"email": f"{who}@test.proactif.fr", "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.mark.parametrize("who", ["etat_civil", "ccas", "dpo", "admin"])
def test_the_dashboard_shows_registry_figures(client: Client, agents: dict, who: str) -> None:
    response = logged_in(client, who).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Tableau de bord" in page and "habitants" in page and "Pyramide des âges" in page
    assert "Marianne" not in page and "fr-logo" not in page  # the collectivité's identity, not the State's


def test_navigation_lists_only_what_the_role_opens(client: Client, agents: dict) -> None:
    page = logged_in(client, "etat_civil").get("/").content.decode()
    assert "Habitants" in page and "Journal des accès" not in page and "Clés d&#x27;API" not in page
    page = logged_in(Client(), "dpo").get("/").content.decode()
    assert "Journal des accès" in page


def test_search_page_and_htmx_fragment(client: Client, agents: dict) -> None:
    logged_in(client, "etat_civil")
    person = Person.objects.filter(status="active").first()
    full = client.get("/habitants/", {"q": person.nom_naissance})
    assert full.status_code == 200 and "<html" in full.content.decode()
    fragment = client.get("/habitants/", {"q": person.nom_naissance}, HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode()
    assert f'href="/habitants/{person.pk}/"' in fragment.content.decode() or "premiers" in fragment.content.decode()


def test_the_person_page_shows_the_file_and_logs_the_view(client: Client, agents: dict) -> None:
    logged_in(client, "etat_civil")
    person = Person.objects.filter(status="active", documents__isnull=False, household__isnull=False).first()
    page = client.get(f"/habitants/{person.pk}/").content.decode()
    for heading in ("Identité", "Adresse", "Foyer", "Coordonnées", "Titres et documents", "Consultations du dossier"):
        assert heading in page, heading
    assert "Ressources mensuelles" not in page  # not opened by the état civil purpose
    assert AccessLog.objects.filter(person_id=person.pk, action="view",
                                    actor_label="etat_civil@test.proactif.fr").exists()


def test_a_ccas_agent_switches_purpose(client: Client, agents: dict) -> None:
    logged_in(client, "ccas")
    person = Person.objects.filter(status="active", resources__isnull=False).first()
    client.post(reverse("accounts:choose_purpose"), {"purpose": "action_sociale"})
    assert "Ressources mensuelles" in client.get(f"/habitants/{person.pk}/").content.decode()
    client.post(reverse("accounts:choose_purpose"), {"purpose": "prevention_sante"})
    assert "Ressources mensuelles" not in client.get(f"/habitants/{person.pk}/").content.decode()


def test_recording_a_consent_from_the_person_page(client: Client, agents: dict) -> None:
    logged_in(client, "etat_civil")
    person = Person.objects.filter(status="active").first()
    response = client.post(f"/habitants/{person.pk}/consentement/", {
        "purpose": "information", "channel": "email", "decision": "granted", "text_version": "2024-06",
        "support": "formulaire papier"}, follow=True)
    assert "Décision enregistrée" in response.content.decode()
    assert person.consents.filter(purpose="information", channel="email", decision="granted").exists()
    bad = client.post(f"/habitants/{person.pk}/consentement/", {"purpose": "nope"}, follow=True)
    assert "non enregistré" in bad.content.decode()


def test_duplicates_review_merge_and_undo(client: Client, agents: dict) -> None:
    from proactif.registry import services

    services.suggest_duplicates()
    suggestion = MergeSuggestion.objects.filter(status="pending").first()
    logged_in(client, "responsable")
    assert "Examiner" in client.get("/habitants/doublons/").content.decode()
    page = client.get(f"/habitants/doublons/{suggestion.pk}/").content.decode()
    assert "Comparer deux fiches" in page and fr("100 %") not in page and "Statut" in page
    assert '<span class="fr-sr-only">(différent)</span>' in page or "≠" not in page  # not by colour alone
    Person.objects.filter(pk=suggestion.person_b_id).update(status="deceased")
    warned = client.get(f"/habitants/doublons/{suggestion.pk}/").content.decode()
    assert fr(f"La fiche n° {suggestion.person_b_id} a le statut « Décédé »") in warned and "data-confirm" in warned
    Person.objects.filter(pk=suggestion.person_b_id).update(status="active")
    response = client.post(f"/habitants/doublons/{suggestion.pk}/", {
        "action": "merge", "survivor": suggestion.person_a_id, "reason": "pièce d'identité vérifiée"})
    assert response.status_code == 302
    assert Person.objects.get(pk=suggestion.person_b_id).status == "merged"
    merge_id = services.recent_merges().first().pk
    client.post(f"/habitants/fusions/{merge_id}/annuler/")
    assert Person.objects.get(pk=suggestion.person_b_id).status != "merged"


def test_import_upload_reports_rejected_lines(client: Client, agents: dict, tmp_path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    logged_in(client, "responsable")
    content = (b"cle_interop;voie;numero;code_postal;code_insee;commune;lon;lat\n"
               b"21999_ab12_00001;Rue des Tilleuls;1;21999;21999;Belleroche;4.85;47.32\n"
               b"pas-une-cle;Rue des Tilleuls;3;21999;21999;Belleroche;4.85;47.32\n")
    response = client.post("/habitants/imports/", {"kind": "addresses", "file": SimpleUploadedFile("a.csv", content)},
                           follow=True)
    page = response.content.decode()
    assert "1 ligne créée" in page and "1 ligne rejetée" in page
    assert fr("clé d&#x27;interopérabilité invalide") in page and "terminé" in page


def test_the_dpo_log_filters_and_exports(client: Client, agents: dict) -> None:
    person = Person.objects.filter(status="active").first()
    logged_in(Client(), "etat_civil").get(f"/habitants/{person.pk}/")
    logged_in(client, "dpo")
    page = client.get("/dpo/journal/", {"personne": person.pk}).content.decode()
    assert "etat_civil@test.proactif.fr" in page
    csv = b"".join(client.get("/dpo/journal.csv", {"personne": person.pk}).streaming_content).decode()
    assert csv.startswith("horodatage;") and f";{person.pk};" in csv
    assert AccessLog.objects.filter(action="export_log", actor_label="dpo@test.proactif.fr").exists()


def test_the_dpo_exports_a_persons_data(client: Client, agents: dict) -> None:
    person = Person.objects.filter(status="active").first()
    logged_in(client, "dpo")
    assert fr("Plan d'effacement") in client.get("/dpo/droits/", {"personne": person.pk}).content.decode()
    response = client.post("/dpo/droits/", {"personne": person.pk, "action": "export"})
    assert response["Content-Type"].startswith("application/json")
    assert person.nom_naissance in response.content.decode()


@pytest.mark.parametrize(("who", "url", "status"), [
    ("etat_civil", "/dpo/journal/", 403), ("etat_civil", "/administration/agents/", 403),
    ("dpo", "/administration/cles-api/", 403), ("admin", "/habitants/?q=martin", 403),
    ("admin", "/administration/agents/", 200), ("admin", "/administration/cles-api/", 200)])
def test_pages_are_closed_to_other_roles(client: Client, agents: dict, who: str, url: str, status: int) -> None:
    assert logged_in(client, who).get(url).status_code == status


def test_an_administrator_creates_an_agent_and_a_key(client: Client, agents: dict) -> None:
    logged_in(client, "admin")
    response = client.post("/administration/agents/", {"email": "nouvel.agent@test.proactif.fr",
                                                       "first_name": "Nouvel", "last_name": "Agent",
                                                       "service": "ccas", "role": "agent"})
    page = response.content.decode()
    assert response.status_code == 200 and "Mot de passe provisoire" in page
    password = page.split('<code id="mot-de-passe">')[1].split("</code>")[0]
    assert accounts.authenticate_agent("nouvel.agent@test.proactif.fr", password, "10.0.0.7").ok
    # shown once on the answer, never carried by the messages cookie (signed, not encrypted) or the session
    assert "no-store" in response["Cache-Control"]
    assert all(password not in morsel.value for morsel in response.cookies.values())
    assert password not in str(dict(client.session))
    assert password not in client.get("/administration/agents/").content.decode()
    refused = client.post("/administration/agents/", {"email": "pas-une-adresse@", "first_name": "X",
                                                      "last_name": "Y", "service": "ccas", "role": "agent"})
    assert refused.status_code == 400
    response = client.post("/administration/cles-api/", {"name": "Logiciel CCAS", "service": "ccas", "kind": "test",
                                                         "scopes": ["registry:read"]})
    assert "pf_test_" in response.content.decode()


def test_health_metrics_and_identity_css(client: Client, agents: dict) -> None:
    health = client.get("/healthz").json()  # the load balancers' probe stays public
    assert health["db"] == "ok" and health["status"] == "ok"
    assert client.get("/metrics").status_code == 302  # not public: the login page
    assert logged_in(Client(), "etat_civil").get("/metrics").status_code == 403
    assert b"proactif_http_requests_total" in logged_in(client, "admin").get("/metrics").content
    css = client.get("/identite.css").content.decode()
    assert "--background-action-high-blue-france:#1f5f7a" in css


def test_metrics_answer_the_scraper_bearing_the_token(client: Client, settings) -> None:
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 302  # no token configured
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 302
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_only_one_navigation_entry_is_current(client: Client, agents: dict) -> None:
    page = logged_in(client, "responsable").get("/habitants/imports/").content.decode()
    assert page.count('aria-current="page"') == 1
    assert 'href="/habitants/imports/" aria-current="page"' in page


def test_error_pages_explain_in_french(client: Client, agents: dict) -> None:
    logged_in(client, "etat_civil")
    missing = client.get("/habitants/999999999/")
    assert missing.status_code == 404 and "Page introuvable" in missing.content.decode()
    refused = client.get("/dpo/journal/")
    assert refused.status_code == 403 and "Accès refusé" in refused.content.decode()
