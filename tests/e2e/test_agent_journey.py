"""An agent logs in, finds a resident, opens their file; the DPO sees the access; wrong passwords lock."""

from __future__ import annotations

import re

import pytest

from proactif.registry.models import Person
from tests.conftest import PASSWORD, create_agents

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def commune() -> None:
    from proactif.accounts import services as accounts
    from proactif.kernel.install import install
    from proactif.synth import services as synth

    install()
    if not accounts.find_agent_by_email("etat_civil@test.proactif.fr"):
        create_agents()
    synth.seed(800, 9, reset=True, parallel=False, duplicate_rate=0.02)  # some duplicates to review, whatever the draw


def log_in(tab, who: str, password: str = PASSWORD) -> None:
    tab.goto("/connexion/")
    tab.page.get_by_label("Adresse e-mail professionnelle").fill(f"{who}@test.proactif.fr")
    tab.page.get_by_label("Mot de passe", exact=True).fill(password)
    tab.page.get_by_role("button", name="Se connecter").click()


def test_search_open_a_file_and_the_dpo_sees_who_read_it(new_page, commune) -> None:
    person = Person.objects.filter(status="active", nom_usage="", household__isnull=False).order_by("id")[3]
    agent = new_page()
    agent.goto("/connexion/")
    agent.assert_accessible()
    log_in(agent, "etat_civil")
    agent.page.wait_for_url(re.compile(r"/$"))
    assert agent.page.get_by_role("heading", name="Tableau de bord").is_visible()
    agent.assert_accessible()

    agent.page.get_by_role("link", name="Habitants").first.click()
    box = agent.page.get_by_label("Nom, adresse, téléphone ou e-mail")
    box.fill(f"{person.nom_naissance} {person.prenom}")  # results arrive as the agent types (HTMX)
    link = agent.page.locator(f'a[href="/habitants/{person.pk}/"]')
    link.wait_for()
    agent.assert_accessible()
    link.click()
    agent.page.wait_for_url(f"**/habitants/{person.pk}/")
    assert agent.page.get_by_role("heading", name="Titres et documents").is_visible()
    assert agent.page.get_by_role("heading", name="Consultations du dossier").is_visible()
    agent.assert_accessible()
    agent.assert_clean()  # no CSP violation, no script error

    dpo = new_page()
    log_in(dpo, "dpo")
    dpo.page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Journal des accès").click()
    dpo.page.get_by_label("N° de personne").fill(str(person.pk))
    dpo.page.get_by_role("button", name="Filtrer").click()
    row = dpo.page.locator("tbody tr", has_text="etat_civil@test.proactif.fr").first
    row.wait_for()
    assert "consultation" in row.inner_text()
    dpo.assert_accessible()
    dpo.assert_clean()


def test_repeated_wrong_passwords_lock_the_account(new_page, commune) -> None:
    tab = new_page()
    for _ in range(5):
        log_in(tab, "ccas", "not-the-password")
        assert tab.page.get_by_role("alert").inner_text().startswith("Adresse e-mail ou mot de passe incorrect")
    log_in(tab, "ccas")  # the right password, refused with the same answer: the page does not tell it is locked
    assert tab.page.get_by_role("alert").inner_text().startswith("Adresse e-mail ou mot de passe incorrect")
    assert tab.page.url.endswith("/connexion/")
    tab.assert_accessible()


def test_the_interface_works_with_the_keyboard(new_page, commune) -> None:
    tab = new_page()
    tab.goto("/connexion/")
    tab.page.keyboard.press("Tab")
    focused = tab.page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Contenu"  # the first stop is the skip link
    tab.page.keyboard.press("Enter")
    tab.page.get_by_label("Adresse e-mail professionnelle").focus()
    tab.page.keyboard.type("etat_civil@test.proactif.fr")
    tab.page.keyboard.press("Tab")
    tab.page.keyboard.type(PASSWORD)
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(re.compile(r"/$"))
    assert tab.page.get_by_role("heading", name="Tableau de bord").is_visible()


def test_every_page_passes_axe(new_page, commune) -> None:
    from proactif.registry import services

    services.suggest_duplicates()
    suggestion = services.pending_suggestions().first()
    person = Person.objects.filter(status="active", household__isnull=False).first()
    from proactif.messaging.services import templates

    template = templates().filter(channel="sms").first()
    pages = {
        "responsable": ["/habitants/doublons/", f"/habitants/doublons/{suggestion.pk}/", "/habitants/imports/"],
        "etat_civil": ["/", "/habitants/", f"/habitants/?q={person.nom_naissance}", f"/habitants/{person.pk}/",
                       "/parcours/", "/parcours/titres-identite/", "/parcours/taches/", "/rendez-vous/",
                       f"/rendez-vous/reserver/?personne={person.pk}", "/rendez-vous/titres/", "/messages/",
                       "/messages/modeles/", f"/messages/modeles/{template.pk}/", "/messages/boite-de-test/"],
        "ccas": [f"/habitants/{person.pk}/"],
        "dpo": ["/dpo/journal/", f"/dpo/droits/?personne={person.pk}"],
        "admin": ["/administration/agents/", "/administration/cles-api/", "/habitants/imports/"],
    }
    for who, paths in pages.items():
        tab = new_page()
        log_in(tab, who)
        for path in paths:
            response = tab.goto(path)
            assert response.status == 200, path
            violations = tab.axe()
            assert violations == [], (path, violations)
        tab.assert_clean()
