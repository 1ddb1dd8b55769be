"""In the browser, a home device lent to a registered person: its normal readings, then a deterioration (SpO2 84–86 %
and a racing pulse for several readings) published over a private Mosquitto and stored by an `_mqtt.Ingester` in
the live server's database. As the health-prevention agent: the desk, left open, shows the critical alert without
a reload; the devices' map shows the device « Alerte critique » (its table row, its dot on the canvas, the map's
JSON); the person's page, opened from the map's table, charts the readings; their thresholds change on a
clinician's instruction (a missing clinician refused first, field by field, then a valid change in the history);
the desk acknowledges the alert. The referent's signed link, opened logged out, takes another alert in charge.
The map, the person's page (the thresholds form and its error state) and the referent's pages pass axe-core."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from proactif.kernel import clock
from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _referent as referent
from proactif.watch import _telemetry as telemetry
from proactif.watch import domain
from proactif.watch.models import Alert, Contact, Observation, Registration, ThresholdChange
from tests.conftest import fr, require
from tests.e2e.test_agent_journey import log_in
from tests.e2e.test_watch import commune  # noqa: F401  (the fixture: a seeded commune with its register)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CRITICAL = (206, 5, 0)  # the map's colour for « Alerte critique » (#ce0500)


@pytest.fixture
def broker():
    """A private Mosquitto on a free port (the telemetry benchmark's); missing, it skips — fails under CI=true."""
    from proactif.bench.telemetry import private_broker

    running = private_broker()
    try:
        port = running.__enter__()
    except LookupError as exc:
        require(False, str(exc))
    try:
        yield port
    finally:
        running.__exit__(None, None, None)


def wait_for(condition, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def placed_person() -> int:
    """A registered person whose home is on the map."""
    from proactif.registry import services as registry

    registered = list(Registration.objects.filter(status="inscrite").order_by("person_id")
                      .values_list("person_id", flat=True))
    homes = registry.residents(registered)
    placed = [p for p in registered if p in homes and homes[p].lat is not None and homes[p].lon is not None]
    assert placed, "the synthetic register has no person placed on the map"
    return placed[0]


def publish(port: int, serial: str, messages: list[bytes]) -> None:
    """A device's connection to the broker: its messages at QoS 1, each acknowledged by the broker."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"device-{serial}")
    client.will_set(mqtt_ingest.state_topic(serial), "hors_ligne", qos=1, retain=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(mqtt_ingest.state_topic(serial), "en_ligne", qos=1, retain=True).wait_for_publish(5)
        for body in messages:
            client.publish(mqtt_ingest.readings_topic(serial), body, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def critical_pixels(tab) -> int:
    """Pixels of the critical colour on the map's canvas (the dots are drawn there, not as DOM nodes)."""
    return int(tab.page.evaluate("""([r, g, b]) => {
        let n = 0;
        for (const canvas of document.querySelectorAll('#carte-appareils canvas')) {
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 0; i < data.length; i += 4) {
                if (Math.abs(data[i] - r) < 16 && Math.abs(data[i + 1] - g) < 16 && Math.abs(data[i + 2] - b) < 16) n++;
            }
        }
        return n;
    }""", list(CRITICAL)))


def test_a_device_deteriorates_over_mqtt_the_desk_and_the_map_show_it_thresholds_change_and_it_is_acknowledged(
        new_page, commune, broker) -> None:  # noqa: F811
    from proactif.bench.telemetry import payload

    person_id = placed_person()
    device, _ = telemetry.register_device("CST-E2E-1", "constantes", 600)
    telemetry.lend(device, person_id, clock.today() - timedelta(days=1))
    now = clock.now().replace(second=0, microsecond=0)

    # three hours of normal readings, stored as the ingester stores a batch
    start = now - timedelta(hours=3)
    topic = mqtt_ingest.readings_topic(device.serial)
    normal = [(topic, payload(device.serial, start + timedelta(minutes=10 * i), {"spo2": 96 + i % 2,
                                                                                 "heart_rate": 72 + i % 3}))
              for i in range(12)]
    assert set(mqtt_ingest.handle_batch(normal)) == {"stored"}
    assert not Alert.objects.filter(person_id=person_id).exists()

    tab = new_page()
    log_in(tab, "sante")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.goto("/veille/pupitre/")
    page = tab.page
    expect(page.locator("#alertes")).to_contain_text("Aucune alerte en cours")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # the deterioration, from the device through the broker to the ingester and the live server's database
    ingester = mqtt_ingest.Ingester("127.0.0.1", broker, client_id="proactif-ingester-e2e").start(wait=10)
    try:
        assert ingester.subscribed.is_set(), ingester.refused
        worse = now - timedelta(minutes=50)
        bodies = [payload(device.serial, worse + timedelta(minutes=10 * i), {"spo2": spo2, "heart_rate": pulse})
                  for i, (spo2, pulse) in enumerate(zip([86, 85, 84, 85, 84, 86], [128, 134, 137, 133, 136, 135],
                                                        strict=True))]
        publish(broker, device.serial, bodies)
        assert wait_for(lambda: ingester.counts["stored"] == len(bodies)), ingester.counts
    finally:
        ingester.stop()
    assert Observation.objects.filter(device=device, source="mqtt").count() == 12 * 2 + 6 * 2
    critical = list(Alert.objects.filter(person_id=person_id, severity="critical", status="ouverte").order_by("id"))
    assert {a.rule for a in critical} >= {"threshold:spo2", "threshold:heart_rate"}, [a.rule for a in critical]
    alert = next(a for a in critical if a.rule == "threshold:spo2")

    # the desk refreshes itself (every 10 s): the alert arrives without a reload
    row = page.locator(f"#alerte-{alert.pk}")
    expect(row).to_contain_text(fr(alert.message), timeout=30_000)
    expect(row).to_contain_text("Critique")
    assert page.evaluate("window.__sameDocument === true"), "the desk reloaded instead of refreshing its part"

    # the devices' map: the device's row and its dot in the critical state
    tab.goto("/veille/appareils/")
    device_row = page.locator("#appareils tbody tr").filter(has_text=device.serial)
    expect(device_row).to_contain_text("Alerte critique")
    expect(page.locator("#appareils tbody tr").first).to_contain_text(device.serial)  # the gravest first
    expect(page.locator("#carte-appareils canvas").first).to_be_visible()
    expect(page.locator("#carte-appareils .leaflet-pane")).not_to_have_count(0)
    assert tab.wait_until("document.querySelectorAll('#carte-appareils canvas').length > 0")
    assert wait_for(lambda: critical_pixels(tab) > 0, 10), "no dot of the critical colour on the map"
    points = page.request.get(tab.base_url + "/veille/appareils/?points=1").json()["points"]
    dot = next(p for p in points if p["serial"] == device.serial)
    assert (dot["status"], dot["label"]) == ("critique", "Alerte critique")
    assert dot["lat"] is not None and dot["lon"] is not None and dot["url"] == f"/veille/personnes/{person_id}/"
    tab.assert_accessible()

    # the person's page, from the map's table: the charts and their tables of values
    device_row.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/veille/personnes/{person_id}/$"))
    expect(page.locator("canvas[data-chart]")).not_to_have_count(0)
    spo2_chart = page.locator("figure").filter(has_text="Saturation en oxygène")
    expect(spo2_chart.locator("canvas")).to_be_visible()
    spo2_chart.locator("summary").click()
    values = spo2_chart.locator("table tbody")
    expect(values).to_contain_text(re.compile(r"96|97"))  # the normal hours' means
    expect(values).to_contain_text(re.compile(r"8[4-6]"))  # the deterioration's
    expect(page.locator("body")).to_contain_text(fr("Saturation en oxygène : 86 %"))  # the latest reading
    tab.assert_accessible()

    # the thresholds: without the clinician, refused field by field (announced), then changed and in the history
    page.get_by_role("button", name=re.compile("Changer les seuils sur instruction")).click()
    form = page.locator("#changer-seuils form")
    form.get_by_label(re.compile("Saturation en oxygène — seuil bas critique")).fill("85")
    form.get_by_label(re.compile("Saturation en oxygène — seuil bas d.avertissement")).fill("88")
    form.get_by_label(re.compile("Date de l.instruction")).fill(clock.today().isoformat())
    form.get_by_label(re.compile("^Motif")).fill("BPCO connue, saturation habituelle à 88 %")
    form.get_by_role("button", name="Enregistrer les seuils").click()
    clinician = page.locator("#s-clinicien")
    expect(clinician).to_have_attribute("aria-describedby", "s-clinicien-erreur")
    expect(page.locator("#s-clinicien-erreur")).to_have_text(fr("indiquez le nom du clinicien qui a donné "
                                                                "l'instruction"))
    expect(page.get_by_role("alert").filter(has_text="Les seuils n")).to_be_visible()
    assert page.title().startswith("Erreur")  # the page's title says it first (RGAA 11.10)
    expect(clinician).to_have_accessible_description(re.compile("indiquez le nom du clinicien"))
    expect(page.locator("#s-motif")).to_have_value("BPCO connue, saturation habituelle à 88 %")  # kept
    assert not ThresholdChange.objects.filter(person_id=person_id).exists()
    tab.assert_accessible()
    clinician.fill("Dr Claire Martin, pneumologue")
    page.locator("#changer-seuils").get_by_role("button", name="Enregistrer les seuils").click()
    expect(page.locator("body")).to_contain_text(fr("Seuils enregistrés, avec l'instruction du clinicien."))
    history = page.locator("h3", has_text="Historique des seuils").locator("xpath=following-sibling::ul[1]")
    expect(history).to_contain_text("sur instruction de Dr Claire Martin, pneumologue")
    expect(history).to_contain_text(re.compile(r"SpO2\s*:\s*seuil bas critique \d+\s*→\s*85\s*%"))
    expect(history).to_contain_text("BPCO connue")
    assert ThresholdChange.objects.filter(person_id=person_id).count() == 1
    tab.assert_accessible()

    # the desk acknowledges the alert
    tab.goto("/veille/pupitre/")
    row = page.locator(f"#alerte-{alert.pk}")
    row.get_by_label("Note").fill("Appel passé, la personne va bien")
    row.get_by_role("button", name="Acquitter").click()
    expect(page.locator("body")).to_contain_text(fr("Alerte acquittée."))
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acquittee", "sante@test.proactif.fr")
    from proactif.journeys import _engine as engine
    from proactif.journeys.models import JourneyInstance

    engine.run_until_idle(clock.now())  # the critical alert's escalation (referent, on call…) stops there
    assert alert.escalation_id and JourneyInstance.objects.get(pk=alert.escalation_id).node == "fin_acquittee"
    refused = f"/veille/personnes/{person_id}/"  # the thresholds form refused with its 400, as intended
    assert [p for p in tab.problems if refused not in p] == [], tab.problems


def referent_link() -> tuple[Alert, str]:
    """A critical alert of a person enrolled with a referent reachable by SMS, and the path of the referent's link."""
    from proactif.bench.telemetry import payload
    from tests.watch.test_escalation import registered_with_contacts

    person_id = registered_with_contacts()
    contact = Contact.objects.get(registration__person_id=person_id, role="referent")
    device, _ = telemetry.register_device("OXY-E2E-2", "oxymetre", 300)
    telemetry.lend(device, person_id, clock.today() - timedelta(days=1))
    start = clock.now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    topic = mqtt_ingest.readings_topic(device.serial)
    messages = [(topic, payload(device.serial, start + timedelta(minutes=5 * i), {"spo2": 84})) for i in range(4)]
    assert set(mqtt_ingest.handle_batch(messages)) == {"stored"}
    alert = Alert.objects.get(person_id=person_id, rule="threshold:spo2", severity="critical")
    url = referent.url_for(alert.pk, contact.pk, domain.contact_channel(contact.telephone, contact.email)[1])
    return alert, url[url.index("/veille/"):]


def test_the_referents_link_opened_logged_out_shows_the_alert_and_one_button(new_page, commune) -> None:  # noqa: F811
    alert, path = referent_link()
    tab = new_page()  # logged out: the link is the key
    tab.goto(path)
    page = tab.page
    expect(page.locator("h1")).to_contain_text("Alerte pour")
    expect(page.locator("body")).to_contain_text(fr(alert.message))
    expect(page.get_by_role("button", name=re.compile("je m.en occupe"))).to_be_visible()
    tab.assert_accessible()

    # a damaged link opens nothing, and says so accessibly
    response = tab.goto(path.rstrip("/") + "x/")
    assert response.status == 400
    expect(page.locator("h1")).to_contain_text("Ce lien ne permet pas")
    tab.assert_accessible()


def test_the_referent_presses_the_button_and_the_alert_is_taken_in_charge(new_page, commune) -> None:  # noqa: F811
    alert, path = referent_link()
    tab = new_page()  # logged out: the link is the key
    tab.goto(path)
    page = tab.page
    page.get_by_role("button", name=re.compile("je m.en occupe")).click()
    expect(page.get_by_role("status")).to_contain_text(fr("Merci, c'est noté"), timeout=3_000)
    tab.assert_accessible()
    alert.refresh_from_db()
    assert alert.status == "acquittee" and "(référent, lien signé)" in alert.acknowledged_by
    tab.goto(path)  # the link opened again: taken in charge, no button
    expect(page.locator("body")).to_contain_text("Alerte déjà prise en charge")
    expect(page.locator("body")).to_contain_text(fr("Vous avez indiqué vous en occuper"))
    expect(page.get_by_role("button", name=re.compile("je m.en occupe"))).to_have_count(0)
    tab.assert_accessible()
    tab.assert_clean()
