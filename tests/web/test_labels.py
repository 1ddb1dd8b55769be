"""Agent pages speak French, not codes: import kinds and statuses, incident types, delivery statuses, outcomes."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from proactif.alerts.models import Incident
from proactif.journeys.models import JourneyInstance
from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import AgentRule
from proactif.messaging import services as messaging
from proactif.registry.models import ImportRun
from tests.conftest import fr
from tests.web.test_pages import logged_in

pytestmark = pytest.mark.django_db


def test_the_imports_page_names_kinds_and_statuses(client: Client, agents: dict) -> None:
    ImportRun.objects.create(kind="residents", filename="habitants.csv", sha256="0" * 64, started_at=clock.now(),
                             status="done", created=3)
    page = logged_in(client, "admin").get("/habitants/imports/").content.decode()
    assert "<td>Habitants</td>" in page and "<td>Terminé</td>" in page
    assert "<td>residents</td>" not in page and "<td>done</td>" not in page


def test_delivery_counts_outcomes_and_incident_types_have_french_labels() -> None:
    assert messaging.labelled_counts({"sms": {"sent": 180, "cancelled": 25}, "email": {"delivered": 3}}) == [
        ("SMS", [("Envoyé", 180), ("Annulé", 25)]), ("e-mail", [("Distribué", 3)])]
    assert JourneyInstance(outcome="termine").outcome_label == ""
    assert JourneyInstance(outcome="titre_remis").outcome_label == "titre remis"
    assert JourneyInstance(outcome="opposition").outcome_label == "opposition de la personne"
    assert Incident(type_code="coupure_eau").type_label == "Coupure d'eau"


def test_irreversible_actions_ask_first(client: Client, agents: dict) -> None:
    """Revoking a key, cancelling an appointment, sending or closing an alert: the button carries its question,
    which the page's script (web/confirm.js, on every page) asks before the form goes."""
    from proactif.accounts import services as accounts

    accounts.create_api_key("etat_civil", "Logiciel état civil", "live", ["registry:read"])
    page = logged_in(client, "admin").get("/administration/cles-api/").content.decode()
    assert 'data-confirm="Révoquer la clé « Logiciel état civil » ?' in page and "web/confirm.js" in page


def test_search_results_page_on(client: Client, agents: dict) -> None:
    agent = logged_in(client, "etat_civil")
    first = agent.get("/habitants/?q=ma", HTTP_HX_REQUEST="true").content.decode()
    assert "Habitants 1 à 50 trouvés" in first and "page=2" in first and "Résultats suivants" in first
    second = agent.get("/habitants/?q=ma&page=2", HTTP_HX_REQUEST="true").content.decode()
    assert "Habitants 51 à" in second and "Résultats précédents" in second
    assert agent.get("/habitants/?q=ma&page=99999999999").status_code == 200  # clamped, never an error


def test_citizen_pages_carry_the_legal_pages_not_the_agents_footer(client: Client, agents: dict) -> None:
    for path, heading in (("/mentions-legales/", "Mentions légales"), ("/donnees-personnelles/",
                          "Vos données personnelles"), ("/accessibilite/", "Déclaration d'accessibilité")):
        page = Client().get(path).content.decode()
        assert fr(f"<h1>{heading}</h1>") in page, path
        assert 'href="/mentions-legales/"' in page and 'href="/donnees-personnelles/"' in page
        assert "journal des accès</p>" not in page and "accueil téléphonique" in page  # a citizen's footer
    assert "Alertes et informations de sécurité" in Client().get("/donnees-personnelles/").content.decode()
    agent_page = logged_in(client, "etat_civil").get("/").content.decode()
    assert "journal des accès" in agent_page and 'href="/accessibilite/"' in agent_page


def test_a_journeys_instances_name_their_residents(client: Client, agents: dict) -> None:
    from proactif.journeys import services as journeys
    from proactif.registry.models import Person

    journeys.enter_due()
    instance = journeys.instances("titres-identite", "", "").first()  # the first row of the page
    assert instance is not None
    person = Person.objects.get(pk=instance.person_id)
    page = logged_in(client, "etat_civil").get("/parcours/titres-identite/").content.decode()
    assert f'href="/habitants/{person.pk}/">' in page and (person.nom_usage or person.nom_naissance).upper() in page
    assert f"<td>n° {person.pk}</td>" not in page


# Codes an agent is meant to read: the import files' column names (the format a file must follow), the templates'
# keys and placeholders (what a template author writes), a status file's column named in its error report.
CODES_SHOWN_ON_PURPOSE = {"/habitants/imports/": "column names of the import formats",
                          "/messages/modeles/": "template keys", "/messages/modeles/nouveau/": "placeholders",
                          "/rendez-vous/titres/": "the status file's columns"}
CODE = re.compile(r"\b(?:[a-z]+_[a-z_]+|None|True|False|pending|cancelled|failed|sent|delivered|queued|running|done|"
                  r"draft|published|closed)\b")


def test_no_agent_page_shows_codes_or_english(agents: dict) -> None:
    """Every agent page without parameters, opened by the first role its rule lets in: its visible text (scripts,
    form fields and verbatim blocks aside, e-mail addresses removed) holds no code nor English status word."""
    from proactif.accounts import services as accounts

    seen = 0
    for capability in capabilities.declared():
        for pages in capability.pages:
            for route in pages.routes:
                if not (isinstance(route.rule, AgentRule) and route.name) or "<" in route.pattern:
                    continue
                url = reverse(f"{pages.namespace}:{route.name}")
                if url in CODES_SHOWN_ON_PURPOSE:
                    continue
                who = next((a for a in agents.values()
                            if route.rule.allows(a.role, accounts.actor_for_agent(a).purposes)), None)
                client = Client()
                client.force_login(who)
                response = client.get(url)
                if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                    continue
                html = re.sub(r"<(script|style|samp|pre|code|textarea|select)\b.*?</\1>", " ",
                              response.content.decode(), flags=re.S)
                text = re.sub(r"\S+@\S+", " ", re.sub(r"<[^>]+>", " ", html))
                assert not CODE.findall(text), (url, CODE.findall(text)[:10])
                seen += 1
    assert seen >= 18, seen  # the pages without parameters, forms and lists alike


def test_the_resident_file_shows_no_codes(agents: dict) -> None:
    """The page agents read most, with its consents, oppositions and journeys, for each purpose that opens it."""
    from proactif.registry.models import Consent, OptOut, Person

    person = Person.objects.filter(status="active", documents__isnull=False, household__isnull=False).first()
    Consent.objects.create(person=person, purpose="information", channel="*", decision="granted", source="agent",
                           recorded_at=clock.now(), text_version=1)
    OptOut.objects.create(person=person, purpose="information", channel="sms", source="sms", created_at=clock.now())
    for who in ("etat_civil", "ccas", "admin"):
        client = Client()
        client.force_login(agents[who])
        page = client.get(f"/habitants/{person.pk}/").content.decode()
        html = re.sub(r"<(script|style|samp|pre|code|textarea|select)\b.*?</\1>", " ", page, flags=re.S)
        text = re.sub(r"\S+@\S+", " ", re.sub(r"<[^>]+>", " ", html))
        assert not CODE.findall(text), (who, CODE.findall(text)[:10])
