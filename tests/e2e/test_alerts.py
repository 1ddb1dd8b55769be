"""In the browser: a police agent draws an area on the map, sees the residents it reaches, sends a power-cut
alert, then an update and the end of the incident; a resident of the area receives the three messages (the
sinks). The map page and the incident page pass axe-core."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from proactif.alerts.models import Incident, IncidentRecipient
from proactif.geo import services as geo
from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage, SinkMessage
from tests.conftest import create_agents
from tests.e2e.test_agent_journey import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def commune(sinks, settings):
    settings.ALERT_APPROVAL_THRESHOLD = 0
    from proactif.accounts import services as accounts
    from proactif.kernel.install import install
    from proactif.synth import services as synth

    synth.seed(600, 5, reset=True, parallel=False)
    install()
    accounts.ensure_default_services()
    if not accounts.find_agent_by_email("police@test.proactif.fr"):
        create_agents()
    geo.forget_index()


def send_deferred() -> None:
    """Messages the per-service rate limit put back by a second (the scheduler's next tick)."""
    for _ in range(5):
        due = list(OutboxMessage.objects.filter(status="created", lane="urgent").values_list("id", flat=True))
        if not due:
            return
        time.sleep(1.1)
        outbox.send_batch(due)


def test_an_agent_draws_an_area_and_alerts_updates_and_resolves(new_page, commune, sinks) -> None:
    from proactif.registry.models import ChannelPreference, ContactPoint, Person

    # a resident reachable by SMS, at a located address: the area is drawn around their building
    resident = Person.objects.filter(status="active", household__address__lon__isnull=False,
                                     contacts__kind="phone", contacts__is_mobile=True).order_by("id").first()
    address = resident.household.address
    ChannelPreference.objects.filter(person=resident).delete()
    ChannelPreference.objects.create(person=resident, channel="sms", rank=0)
    tab = new_page()
    log_in(tab, "police")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.page.get_by_role("link", name="Alertes").first.click()
    tab.page.wait_for_url(re.compile(r"/alertes/$"))
    page = tab.page
    page.wait_for_selector("#carte[data-ready='1']", timeout=20_000)
    tab.assert_accessible()

    page.evaluate(f"(() => {{ window.proactifCarte.map.setView([{address.lat}, {address.lon}], 17, "
                  f"{{animate: false}}); return true; }})()")
    page.get_by_role("button", name="Tracer un polygone").click()
    centre = page.evaluate(f"(() => {{ const p = window.proactifCarte.map.latLngToContainerPoint("
                           f"[{address.lat}, {address.lon}]); return [p.x, p.y]; }})()")
    box = page.locator("#carte").bounding_box()
    x, y = box["x"] + centre[0], box["y"] + centre[1]
    for dx, dy in [(-60, -60), (60, -60), (60, 60), (-60, 60), (-60, -60)]:
        page.mouse.click(x + dx, y + dy)
        page.wait_for_timeout(150)
    expect(page.locator("#compte-titre")).to_contain_text("habitants", timeout=10_000)
    drawn = page.evaluate("window.proactifCarte.draw.getSnapshot().map(f => f.geometry)")
    assert len(drawn) == 1 and drawn[0]["type"] == "Polygon"
    expected = geo.select(geo.Target(areas=geo.parse_area(drawn[0])), "alertes")
    assert resident.pk in expected.resident_ids
    shown = page.inner_text("#compte-titre")
    assert shown.replace("\u202f", " ").replace("\xa0", " ").startswith(f"{len(expected.resident_ids)} habitants")
    assert "Message par SMS" in page.inner_text("#compte-canaux")  # what the send would do, channel by channel

    page.get_by_label("Type d’incident").select_option("coupure_electricite")
    page.get_by_label("Titre (pour les agents)").fill("Panne transformateur")
    page.get_by_label("Message en français").fill("Coupure de courant dans votre rue jusqu'à 23 h.")
    # before it goes: each channel's message as residents will receive it, the SMS with its length and segments
    sms = page.locator("#apercu-messages [data-canal='sms']")
    expect(sms.locator("pre")).to_contain_text("Coupure de courant dans votre rue jusqu'à 23 h.", timeout=10_000)
    expect(sms).to_contain_text("Encodage GSM-7")
    expect(sms).to_contain_text("SMS par habitant")
    assert page.inner_text("#apercu-etat").startswith("SMS en GSM-7")  # said once to screen readers
    preview = sms.locator("pre").inner_text()
    expect(page.locator("#apercu-messages [data-canal='email'] pre")).to_contain_text("jusqu’à 23")  # typeset
    tab.assert_accessible()
    page.get_by_role("button", name="Envoyer l’alerte").click()
    page.wait_for_url(re.compile(r"/alertes/\d+/$"))
    assert tab.dialogs == ["Envoyer l’alerte maintenant\u202f? Les messages partent aussitôt vers tous les habitants "
                           "joignables de la zone."]  # asked before it went
    incident = Incident.objects.get(title="Panne transformateur")
    assert incident.status == "active"
    assert IncidentRecipient.objects.filter(incident=incident).count() == len(expected.resident_ids)
    assert page.get_by_text(f"Alerte envoyée à {len(expected.resident_ids)} habitants").is_visible()
    tab.assert_accessible()

    page.get_by_label("Message en français").fill("Les équipes interviennent, retour prévu à 21 h.")
    page.get_by_role("button", name="Envoyer à tous les destinataires").click()
    page.wait_for_load_state()
    assert page.get_by_text("Message envoyé à").first.is_visible()
    page.locator("label", has_text="Fin de l’incident").click()
    page.get_by_label("Message en français").fill("Le courant est rétabli.")
    page.get_by_role("button", name="Envoyer à tous les destinataires").click()
    page.wait_for_load_state()
    incident.refresh_from_db()
    assert incident.status == "resolue"
    assert page.get_by_role("button", name="Clore l’incident").is_visible()
    tab.assert_accessible()

    send_deferred()
    sinks.pump()
    sent = list(OutboxMessage.objects.filter(trigger=f"alerte:{incident.pk}", person_id=resident.pk).values_list(
        "channel", "status", "recipient"))
    assert len(sent) == 3 and all(c == "sms" and st in ("sent", "delivered") for c, st, _ in sent), sent
    phone = ContactPoint.objects.filter(person=resident, kind="phone", is_mobile=True).first().value
    received = [m for m in SinkMessage.objects.filter(recipient=phone).order_by("id").values_list("body", flat=True)]
    assert len(received) == 3, received
    assert "Coupure de courant dans votre rue" in received[0] and "/l/" in received[0]
    link = re.search(r"/l/(\S+)", received[0]).group(1)  # the resident's own link where the preview showed X's
    assert received[0] == preview.replace("X" * len(link), link)  # the SMS as the form showed it
    assert "retour prévu à 21 h" in received[1] or "retour prevu a 21 h" in received[1]
    assert ": fin" in received[2] and ("rétabli" in received[2] or "retabli" in received[2])
    page.reload()
    # labels, not codes; a message whose provider timed out under load may still be « Créé » (retried later)
    assert re.search(r"SMS\t(.+, )?Distribué : \d+", page.inner_text("#distribution").replace("\u202f", " "))
    tab.assert_clean()


def test_the_map_shows_the_local_pmtiles_basemap(new_page, commune, settings, tmp_path) -> None:
    from tests.alerts.basemap import write

    archive = tmp_path / "fond.pmtiles"
    write(archive)
    settings.MAP_PMTILES, settings.MAP_ATTRIBUTION = str(archive), "Fond de test"
    tab = new_page()
    log_in(tab, "police")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.goto("/alertes/")
    tab.page.wait_for_selector("#carte[data-ready='1']", timeout=20_000)
    expect(tab.page.locator(".leaflet-tile-pane img.leaflet-tile-loaded").first).to_be_visible(timeout=10_000)
    assert tab.page.locator(".leaflet-tile-pane img.leaflet-tile-loaded").count() > 1
    assert "Fond de test" in tab.page.inner_text(".leaflet-control-attribution")
    tab.assert_accessible()
    tab.assert_clean()  # no CSP violation, no failed request: every tile came from the local file


def test_the_alert_form_says_when_the_session_expired(new_page, commune) -> None:
    """The session ends while the agent writes: the form says so, nothing is sent, and the button is usable again
    once they have logged in another tab (it used to stay disabled without a word)."""
    tab = new_page()
    log_in(tab, "police")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.goto("/alertes/")
    tab.page.wait_for_selector("#carte[data-ready='1']", timeout=20_000)
    page = tab.page
    page.get_by_label("Type d’incident").select_option("coupure_eau")
    page.get_by_label("Titre (pour les agents)").fill("Fuite rue de Paris")
    page.get_by_label("Message en français").fill("L'eau est coupée jusqu'à 18 h.")
    page.context.clear_cookies()  # the session is gone
    page.get_by_role("button", name="Envoyer l’alerte").click()
    expect(page.locator("#erreurs")).to_contain_text("Votre session a expiré", timeout=10_000)
    assert page.get_by_role("button", name="Envoyer l’alerte").is_enabled()
    assert not Incident.objects.filter(title="Fuite rue de Paris").exists()
    tab.problems.clear()  # the refused request (the login page answered) is what the test provokes
    tab.assert_accessible()
