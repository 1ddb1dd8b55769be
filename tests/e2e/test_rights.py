"""A CCAS social worker screens the commune from the interface, filters the detections, reads a household's
explanation, informs the detected households and follows them; the citizen's page answers. Every page passes
axe-core."""

from __future__ import annotations

import re

import pytest

from proactif.rights.models import Assessment, Outreach
from tests.e2e.test_agent_journey import commune, log_in  # noqa: F401 - the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_social_worker_screens_informs_and_follows(new_page, commune) -> None:  # noqa: F811
    tab = new_page()
    log_in(tab, "ccas")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.page.get_by_role("link", name="Droits").first.click()
    tab.page.wait_for_url(re.compile(r"/droits/$"))
    tab.assert_accessible()
    tab.page.get_by_label("Mois").fill("2026-11")
    for label in ("Chèque énergie", "Aide au logement"):
        tab.page.get_by_label(label).uncheck(force=True)  # DSFR draws the box on the label
    tab.page.get_by_role("button", name="Lancer le criblage").click()
    tab.page.wait_for_url(re.compile(r"/droits/criblages/\d+/$"), timeout=120_000)
    run_id = int(tab.page.url.rstrip("/").rsplit("/", 1)[1])
    assert "Terminé" in tab.page.content()
    tab.assert_accessible()

    detected = Assessment.objects.filter(run_id=run_id, detected=True).order_by("-amount").first()
    assert detected is not None
    tab.page.get_by_label("Prestation").select_option(detected.benefit)
    tab.page.get_by_role("button", name="Filtrer").click()
    tab.page.wait_for_url(re.compile(r"benefit="))
    tab.assert_accessible()
    household = tab.page.locator(f'#table-detections-{run_id} a[href$="/foyers/{detected.household_id}/"]').first
    assert not household.inner_text().startswith("Foyer")  # the household by its members' name, not a number
    household.click()
    tab.page.wait_for_url(re.compile(rf"/foyers/{detected.household_id}/$"))
    assert tab.page.get_by_text("Pourquoi :").first.is_visible()
    tab.assert_accessible()

    tab.goto(f"/droits/criblages/{run_id}/?benefit={detected.benefit}")
    tab.page.get_by_role("button", name=re.compile("Informer ces foyers")).click()
    tab.page.wait_for_url(re.compile(rf"/droits/criblages/{run_id}/$"))
    assert re.search(r"(\d+|Aucun) foyers? informés?", tab.page.content())
    tab.goto("/droits/accompagnements/")
    tab.assert_accessible()
    assert Outreach.objects.filter(run_id=run_id).exists()
    tab.assert_clean()

    outreach = Outreach.objects.filter(run_id=run_id).first()
    from proactif.messaging import services as messaging

    _, url = messaging.create_link("rights.reponse", outreach.person_id)
    citizen = new_page()
    citizen.goto("/l/" + url.rsplit("/", 1)[1])
    citizen.goto("/demarches/droits/")
    assert "vous pourriez avoir droit" in citizen.page.content().lower()
    citizen.assert_accessible()
    citizen.page.get_by_label("Le matin").check(force=True)
    citizen.page.get_by_role("button", name="Demander un rendez-vous").click()
    citizen.page.wait_for_load_state()
    assert Outreach.objects.get(pk=outreach.pk).status == "rdv_demande"
    citizen.assert_accessible()
