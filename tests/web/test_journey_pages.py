"""Agent and citizen pages of journeys, messages and appointments, through Django's test client: who may
change what, refusals answered 4xx with the problems listed, the citizen changing and cancelling."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest

from proactif.accounts.domain import Role
from proactif.audit.models import AccessLog
from proactif.deadlines import services as deadlines
from proactif.deadlines.models import Appointment
from proactif.kernel import clock
from proactif.messaging import services as messaging
from proactif.messaging.models import Template
from tests.conftest import PASSWORD, fr, some_person_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def responsable(client):
    from proactif.accounts import services as accounts

    email = "responsable@test.proactif.fr"
    if accounts.find_agent_by_email(email) is None:
        accounts.create_agent(email, PASSWORD, service="etat_civil", role=Role.RESPONSABLE)
    client.force_login(accounts.find_agent_by_email(email))
    return client


@pytest.fixture
def agent(client, agents):
    client.force_login(agents["etat_civil"])
    return client


def test_a_journey_definition_with_problems_is_refused_with_every_problem(responsable) -> None:
    from proactif.journeys import services as journeys

    source = journeys.definition_by_key("titres-identite").source
    broken = source.replace("next: attente_reponse", "next: attente_reponce").replace("timeout: 15 days", "timeout: 15")
    response = responsable.post("/parcours/titres-identite/modifier/", {"source": broken, "action": "publish"})
    page = response.content.decode()
    assert response.status_code == 400
    assert fr("étape inconnue « attente_reponce »") in page and fr("durée illisible « 15 »") in page
    fixed = source.replace("timeout: 15 days", "timeout: 21 days")
    response = responsable.post("/parcours/titres-identite/modifier/", {"source": fixed, "action": "publish"})
    assert response.status_code == 302
    assert journeys.definition_by_key("titres-identite").spec["nodes"]["attente_reponse"]["timeout"]["amount"] == 21


def test_an_agent_may_read_journeys_and_templates_but_not_change_them(agent) -> None:
    assert agent.get("/parcours/titres-identite/").status_code == 200
    assert agent.get("/parcours/titres-identite/modifier/").status_code == 403
    template = Template.objects.filter(key="titre.alerte", channel="sms", status="published").first()
    assert agent.get(f"/messages/modeles/{template.pk}/").status_code == 200
    refused = agent.post(f"/messages/modeles/{template.pk}/enregistrer/", {"key": template.key, "channel": "sms",
                                                                          "language": "fr", "name": "x", "body": "x"})
    assert refused.status_code == 403
    assert agent.post(f"/messages/modeles/{template.pk}/").status_code == 405  # showing is not saving


def test_a_template_with_an_unknown_placeholder_is_refused_and_the_sms_counter_counts(responsable) -> None:
    response = responsable.post("/messages/modeles/nouveau/", {
        "key": "essai.sms", "channel": "sms", "language": "fr", "name": "Essai",
        "body": "Bonjour {{ personne.prenon }}", "action": "publish"})
    assert response.status_code == 400 and "personne.prenon" in response.content.decode()
    assert not Template.objects.filter(key="essai.sms").exists()
    counter = responsable.get("/messages/modeles/compteur-sms/", {"body": "L’accueil est fermé"},
                              HTTP_HX_REQUEST="true")
    text = html.unescape(counter.content.decode())
    assert counter.status_code == 200 and "UCS-2" in text and "L'accueil est fermé" in text


def test_previewing_a_template_with_a_resident_is_a_logged_read(responsable) -> None:
    template = Template.objects.filter(key="titre.alerte", channel="email", status="published").first()
    person_id = some_person_id(documents__isnull=False)
    response = responsable.post(f"/messages/modeles/{template.pk}/apercu/", {"person_id": person_id},
                                HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert AccessLog.objects.filter(person_id=person_id, action="preview").exists()


def test_the_agenda_marks_an_appointment_done_and_the_title_desk_imports_a_status_file(agent, tmp_path) -> None:
    moving = clock.FixedClock(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    with clock.use(moving):
        counter = deadlines.ensure_default_counter()
        slot = deadlines.day_slots(counter, datetime(2026, 12, 3).date())[0]
        appointment = deadlines.book(deadlines.BookingRequest(some_person_id(), counter.pk, slot.starts_at,
                                                              pre_demandes=("AB12CD34EF",)))
        assert agent.get("/rendez-vous/?jour=2026-12-03").status_code == 200
        response = agent.post(f"/rendez-vous/{appointment.pk}/", {"action": "done"})
        assert response.status_code == 302 and Appointment.objects.get(pk=appointment.pk).status == "done"
        path = tmp_path / "statuts.csv"
        path.write_text("pre_demande;statut\nAB12CD34EF;pret\nINCONNU123;pret\n", encoding="utf-8")
        with path.open("rb") as handle:
            page = agent.post("/rendez-vous/titres/", {"action": "import", "file": handle}).content.decode()
        assert fr("<td>3</td><td>pre_demande</td><td>aucune demande en cours pour « INCONNU123 »</td>") in page
        assert "<td>2</td>" not in page  # line 2 was applied: the title is ready


def test_a_citizen_changes_then_cancels_their_appointment_through_their_link(client) -> None:
    moving = clock.FixedClock(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    with clock.use(moving):
        person_id = some_person_id()
        _, url = messaging.create_link("deadlines.booking", person_id)
        client.get("/l/" + url.rsplit("/", 1)[1])
        counter = deadlines.ensure_default_counter()
        first, later = deadlines.day_slots(counter, datetime(2026, 12, 4).date())[:2]
        booked = client.post("/demarches/titres/", {"jour": "2026-12-04", "guichet": counter.pk,
                                                    "slot": first.starts_at.isoformat(), "case": "renouvellement",
                                                    "kinds": ["passeport"], "pre_demandes": "AB12CD34EF"})
        assert booked.status_code == 302, booked.content.decode()[:2000]
        appointment = Appointment.objects.get(person_id=person_id, status="booked")
        changed = client.post("/demarches/titres/?changer=1", {"changer": "1", "jour": "2026-12-04",
                                                               "guichet": counter.pk,
                                                               "slot": later.starts_at.isoformat()})
        assert changed.status_code == 302
        moved = Appointment.objects.get(person_id=person_id, status="booked")
        assert moved.pk != appointment.pk and moved.starts_at == later.starts_at
        assert moved.pre_demandes == ["AB12CD34EF"]
        assert client.post("/demarches/titres/annuler/").status_code == 302
        assert not Appointment.objects.filter(person_id=person_id, status="booked").exists()


def test_a_reminder_in_the_past_is_refused_on_its_field(agent, agents) -> None:
    from proactif.journeys import services as journeys
    from proactif.journeys.models import JourneyInstance
    from tests.journeys.test_passport_journey import START, passport_holder

    with clock.use(clock.FixedClock(START)):
        person_id, _ = passport_holder(agents, skip=8)
        journeys.enter_due()
        instance = JourneyInstance.objects.get(person_id=person_id, journey_key="titres-identite")
        response = agent.post(f"/parcours/suivi/{instance.pk}/intervention/", {
            "action": "reminder", "reason": "Rappel demandé", "template": "titre.relance", "channel": "email",
            "at": "2026-11-30T10:00"})
    assert response.status_code == 400
    assert "la relance doit être programmée dans le futur" in html.unescape(response.content.decode())
    assert not instance.events.filter(kind="takeover").exists()
