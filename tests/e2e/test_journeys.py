"""In the browser: an agent pauses a resident's renewal journey and sends an extra message; the resident books
an appointment through the signed link of their message. Every page passes axe-core."""

from __future__ import annotations

from datetime import timedelta

import pytest

from proactif.kernel import clock
from proactif.messaging.domain import citizen_links
from proactif.messaging.models import OutboxMessage, SinkMessage
from tests.conftest import create_agents
from tests.e2e.test_agent_journey import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def renewal(sinks, settings):
    """A commune with the shipped journeys and a resident whose passport entered the renewal journey. Messages
    may go at any hour (the test must not depend on the time it runs at)."""
    settings.QUIET_HOURS, settings.QUIET_SUNDAYS, settings.QUIET_HOLIDAYS = "00:00-23:59", True, True
    from proactif.accounts import services as accounts
    from proactif.journeys import _engine as engine
    from proactif.journeys import services
    from proactif.journeys.models import JourneyInstance
    from proactif.kernel.install import install
    from proactif.registry.models import ChannelPreference, ContactPoint, Document
    from proactif.synth import services as synth

    synth.seed(600, 4, reset=True, parallel=False)
    install()
    accounts.ensure_default_services()
    if not accounts.find_agent_by_email("etat_civil@test.proactif.fr"):
        create_agents()
    person_id = ContactPoint.objects.filter(kind="email", status="active", person__status="active").values_list(
        "person_id", flat=True).order_by("person_id").first()
    ChannelPreference.objects.filter(person_id=person_id).delete()
    ChannelPreference.objects.create(person_id=person_id, channel="email", rank=0)
    Document.objects.filter(person_id=person_id).delete()
    today = clock.today()
    passport = Document.objects.create(person_id=person_id, kind="passeport", numero="19AB12345", status="valide",
                                       issued_on=today - timedelta(days=3470), expires_on=today + timedelta(days=180),
                                       source="test", external_id="e2e-passeport", updated_at=clock.now())
    services.enter_due()
    engine.run_until_idle()
    return JourneyInstance.objects.get(person_id=person_id, journey_key="titres-identite"), passport


def test_an_agent_pauses_the_journey_and_sends_an_extra_message(new_page, renewal, sinks, settings) -> None:
    instance, _ = renewal
    tab = new_page()
    settings.PUBLIC_URL = tab.base_url  # the links of the messages sent from now on lead to this server, as in a demo
    log_in(tab, "etat_civil")
    tab.goto("/parcours/titres-identite/")
    tab.assert_accessible()
    tab.goto(f"/parcours/suivi/{instance.pk}/")
    page = tab.page
    assert page.get_by_role("heading", level=1).is_visible()
    tab.assert_accessible()

    page.locator("label", has_text="Mettre en pause").click()
    page.get_by_label("Motif").fill("L'habitant est à l'étranger jusqu'en janvier")
    page.get_by_role("button", name="Valider l’intervention").click()
    page.wait_for_load_state()
    assert page.get_by_text("Mis en pause par un agent").first.is_visible()
    instance.refresh_from_db()
    assert instance.status == "paused"

    page.locator("label", has_text="Envoyer un message maintenant").click()
    page.get_by_label("Motif").fill("Renvoi du lien à sa demande")
    page.get_by_label("Message", exact=True).select_option("titre.relance")
    page.get_by_label("Canal").select_option("email")
    page.get_by_role("button", name="Valider l’intervention").click()
    page.wait_for_load_state()
    assert page.get_by_text("Message supplémentaire envoyé par un agent").first.is_visible()
    tab.assert_accessible()
    extra = OutboxMessage.objects.get(instance_id=instance.pk, trigger="agent")
    assert extra.status == "sent" and extra.channel == "email" and "[lien personnel]" in extra.body
    sinks.pump()
    assert SinkMessage.objects.filter(idempotency_key=extra.idempotency_key).count() == 1
    received = SinkMessage.objects.get(idempotency_key=extra.idempotency_key)
    assert "/l/" in received.body

    # the resident's way in two clicks: the inbox, the link whole in it, the page the resident sees
    tab.goto("/messages/")
    page.get_by_role("link", name="Boîte de test").click()  # Messages → Boîte de test, as the README says
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1, name="Boîte de test").is_visible()
    tab.assert_accessible()
    url = citizen_links(received.body)[0]
    page.get_by_role("link", name=url, exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Prendre rendez-vous à la mairie").is_visible()
    tab.assert_clean()


def test_a_citizen_books_an_appointment_through_the_signed_link(new_page, renewal, sinks) -> None:
    from proactif.deadlines.models import Appointment
    from proactif.journeys.models import JourneyInstance
    from proactif.messaging import services as messaging

    instance, passport = renewal
    _, url = messaging.create_link("deadlines.booking", instance.person_id, instance_id=instance.pk,
                                   payload={"subject_id": passport.pk})
    tab = new_page()  # no login: the citizen only has the link
    page = tab.page
    page.goto(url.replace("http://127.0.0.1:8000", tab.base_url))
    assert page.get_by_role("heading", name="Prendre rendez-vous à la mairie").is_visible()
    tab.assert_accessible()

    page.locator("a.fr-tag").first.click()  # the first day with free slots
    page.wait_for_load_state()
    page.locator("#creneaux label").first.click()
    page.get_by_label("Numéro de pré-demande ANTS").fill("12ab34cd5")  # nine characters: refused
    page.get_by_role("button", name="Confirmer le rendez-vous").click()
    page.wait_for_load_state()
    assert page.get_by_text("Le rendez-vous n’est pas pris").is_visible()
    assert all("HTTP 400" in p or "status of 400" in p for p in tab.problems)  # the form answered 400, as it should
    tab.problems.clear()
    tab.assert_accessible()
    page.locator("#creneaux label").first.click()
    page.get_by_label("Numéro de pré-demande ANTS").fill("12ab34cd56")
    page.get_by_role("button", name="Confirmer le rendez-vous").click()
    page.wait_for_load_state()
    appointment = Appointment.objects.get(person_id=instance.person_id, status="booked")
    assert appointment.pre_demandes == ["12AB34CD56"] and appointment.instance_id == instance.pk
    assert page.get_by_role("link", name="Ajouter à mon agenda").is_visible()
    tab.assert_accessible()
    ics = page.request.get(tab.base_url + page.get_by_role("link", name="Ajouter à mon agenda").get_attribute("href"))
    assert ics.status == 200 and "BEGIN:VCALENDAR" in ics.text() and appointment.uid in ics.text()
    assert JourneyInstance.objects.get(pk=instance.pk).inbox[-1] == "appointment_booked"
    confirmation = OutboxMessage.objects.get(idempotency_key=f"rdv:{appointment.pk}:confirmation")
    assert confirmation.status == "sent" and confirmation.channel == "email"
    tab.assert_clean()
