"""In the browser: an agent of the health-prevention service records Météo-France's orange canicule level; the
campaign starts and the day's board and call list appear; the agent records a call's outcome; a registered
person answers « 2 » by SMS and comes first on the board. The pages pass axe-core. Then a CCAS agent acting for
« action sociale » is refused the register and switches purpose to get in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from proactif.messaging import _receipts as receipts
from proactif.registry import services as registry
from proactif.watch.models import CheckIn, Registration
from tests.conftest import create_agents, fr
from tests.e2e.test_agent_journey import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def commune(sinks):
    from proactif.accounts import services as accounts
    from proactif.kernel.install import install
    from proactif.synth import services as synth

    synth.seed(1200, 5, reset=True, parallel=False)
    install()
    accounts.ensure_default_services()
    if not accounts.find_agent_by_email("sante@test.proactif.fr"):
        create_agents()
    assert Registration.objects.filter(status="inscrite").count() > 5, "the synthetic commune has a register"


def test_orange_starts_the_campaign_a_call_is_recorded_and_a_2_comes_first(new_page, commune) -> None:
    tab = new_page()
    log_in(tab, "sante")
    tab.page.wait_for_url(re.compile(r"/$"))
    page = tab.page
    page.get_by_role("link", name="Veille").first.click()
    page.wait_for_url(re.compile(r"/veille/$"))
    tab.assert_accessible()

    page.get_by_label("Département").fill("75")
    page.get_by_label("Phénomène").select_option("canicule")
    page.get_by_label("Niveau", exact=True).select_option("orange")
    page.get_by_role("button", name="Enregistrer le niveau").click()
    page.wait_for_url(re.compile(r"/veille/plans/\d+/"))
    expect(page.locator(".fr-alert, .fr-notice, [role=status], [role=alert]").first).to_contain_text("orange")
    registered = Registration.objects.filter(status="inscrite").count()
    expect(page.get_by_role("heading", name=re.compile("Couverture du"))).to_be_visible()
    assert CheckIn.objects.count() == registered
    tab.assert_accessible()

    page.get_by_role("link", name=re.compile("Liste d.appels")).first.click()
    page.wait_for_url(re.compile(r"/appels/"))
    expect(page.get_by_role("heading", name=re.compile("Script d.appel"))).to_be_visible()
    first_call = page.locator(".proactif-call-list > li").first
    expect(first_call.get_by_role("button", name=re.compile("Enregistrer l.appel"))).to_be_visible()
    tab.assert_accessible()
    first_call.get_by_label(re.compile("Issue de l.appel")).select_option("ok")
    first_call.get_by_label("Note").fill("Va bien, boit régulièrement")
    first_call.get_by_role("button", name=re.compile("Enregistrer l.appel")).click()
    expect(page.locator("body")).to_contain_text(fr("Appel enregistré : joint : tout va bien"))
    called = CheckIn.objects.filter(calls__outcome="ok").get()
    assert called.answer == "ok" and called.answer_channel == "appel"

    # a registered person reachable by SMS answers « 2 »: they come first on the board
    candidates = CheckIn.objects.filter(answer="").order_by("-id")
    residents = registry.residents([c.person_id for c in candidates])
    target = next(c for c in candidates if residents[c.person_id].mobile)
    assert receipts.apply_inbound("sms-a", {"from": residents[target.person_id].mobile, "text": "2"}) == "reply"
    target.refresh_from_db()
    assert target.answer == "besoin_aide"
    page.get_by_role("link", name="Tableau du jour").first.click()
    first_row = page.locator("#tableau-personnes tbody tr").first
    expect(first_row).to_contain_text(residents[target.person_id].display_name)
    expect(first_row).to_contain_text(fr("Besoin d'aide"))
    tab.assert_accessible()
    first_row.get_by_role("button", name="Prendre en charge").click()
    expect(page.locator("#tableau-personnes tbody tr").first).to_contain_text("Pris en charge par")


def test_a_ccas_agent_under_action_sociale_switches_purpose_to_open_the_register(new_page, commune) -> None:
    tab = new_page()
    log_in(tab, "ccas")
    tab.page.wait_for_url(re.compile(r"/$"))
    response = tab.goto("/veille/registre/")
    assert response.status == 403
    expect(tab.page.locator("body")).to_contain_text("Prévention santé")
    tab.assert_accessible()
    tab.page.get_by_role("button", name=re.compile("Consulter au titre|Changer de finalité|Passer")).first.click()
    tab.page.wait_for_url(re.compile(r"/veille/registre/"))
    expect(tab.page.get_by_role("heading", name="Registre des personnes vulnérables")).to_be_visible()


def test_an_agent_enrols_a_neighbour_at_a_third_partys_request_and_removes_them(new_page, commune) -> None:
    from proactif.kernel import clock
    from proactif.registry.models import Person

    today = clock.today()
    registered = Registration.objects.values_list("person_id", flat=True)
    person = Person.objects.filter(status="active", date_naissance__lte=today.replace(year=today.year - 70),
                                   household__address__isnull=False).exclude(pk__in=registered).order_by("id").first()
    tab = new_page()
    log_in(tab, "sante")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.goto(f"/veille/registre/inscrire/?personne={person.pk}")
    page = tab.page
    expect(page.locator(".fr-callout")).to_contain_text("Inscription possible au titre de")
    tab.assert_accessible()
    page.get_by_label("Demande faite par").select_option("tiers")
    page.get_by_label("Nom du tiers demandeur").fill("Marie DURAND")
    page.get_by_label("Qualité du tiers").select_option("proche")
    page.get_by_label(re.compile("prévenir en cas d.urgence.{1,3}nom")).fill("Marie DURAND")
    page.get_by_label("Téléphone de la personne à prévenir").fill("06 12 34 56 78")
    page.get_by_role("button", name="Inscrire au registre").click()
    page.wait_for_url(re.compile(r"/veille/registre/\d+/$"))
    expect(page.locator("body")).to_contain_text(fr("l'accusé de réception part aujourd'hui"))
    expect(page.locator("body")).to_contain_text("Marie DURAND")
    tab.assert_accessible()
    entry = Registration.objects.get(person_id=person.pk)
    assert (entry.requested_by, entry.third_party_quality, entry.acknowledged_on) == ("tiers", "proche", today)
    page.get_by_label("Motif de radiation").select_option("opposition")
    page.get_by_role("button", name="Radier du registre").click()
    expect(page.locator("body")).to_contain_text(fr("Inscription radiée : contacts et besoins effacés."))
    entry.refresh_from_db()
    assert entry.status == "radiee" and not entry.contacts.exists()


def test_the_desk_receives_a_device_alert_the_agent_acknowledges_it_and_the_escalation_stops(new_page, commune) -> None:
    from datetime import timedelta

    from proactif.kernel import clock
    from proactif.watch import _telemetry as telemetry
    from proactif.watch.models import Alert
    from tests.watch.test_alerts import R

    person_id = Registration.objects.filter(status="inscrite").values_list("person_id", flat=True).first()
    device, _ = telemetry.register_device("OXY-DEMO-1", "oxymetre", 300)
    telemetry.lend(device, person_id, clock.today() - timedelta(days=1))
    start = clock.now() - timedelta(minutes=45)
    for i in range(8):
        telemetry.ingest(device.serial, [R("spo2", 84, "%", start + timedelta(minutes=5 * i))], "mqtt")
    alert = Alert.objects.get(person_id=person_id)
    assert alert.severity == "critical" and alert.escalation_id  # the escalation has started
    from proactif.journeys import _engine as engine
    from proactif.journeys.models import JourneyInstance

    engine.run_until_idle(clock.now())
    tab = new_page()
    log_in(tab, "sante")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.goto("/veille/pupitre/")
    row = tab.page.locator(f"#alerte-{alert.pk}")
    expect(row).to_contain_text("SpO2 à 84 %")
    tab.assert_accessible()
    row.get_by_label("Note").fill("Appel passé, la personne va bien")
    row.get_by_role("button", name="Acquitter").click()
    expect(tab.page.locator("body")).to_contain_text(fr("Alerte acquittée."))
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acquittee", "sante@test.proactif.fr")
    engine.run_until_idle(clock.now())
    assert JourneyInstance.objects.get(pk=alert.escalation_id).node == "fin_acquittee"  # the escalation stopped
