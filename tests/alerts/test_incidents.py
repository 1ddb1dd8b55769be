"""Incidents from the alert to the closing, on the seeded commune and the real sinks: recipients frozen at the
first send, every update to all of them (plus the residents of an area added later), urgent lane, approval by
a second agent above the threshold, exercises only to test contacts, "are you safe?" answers by SMS keyword
and by link, the lifecycle's refusals, road works imported as scheduled alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import models
from django.test import Client

from proactif.accounts.domain import system_actor
from proactif.alerts import services as alerts
from proactif.alerts.models import Incident, IncidentRecipient
from proactif.geo import services as geo
from proactif.kernel import clock
from proactif.messaging import _outbox as outbox
from proactif.messaging import _receipts as receipts
from proactif.messaging._links import token_for
from proactif.messaging.models import Link, OutboxMessage, SinkMessage
from proactif.registry.models import Address, ContactPoint, Household, Person, Quartier
from tests.conftest import reference_file

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)  # late evening: urgent messages ignore the quiet hours
AGENT, SECOND = system_actor("police-1"), system_actor("police-2")


@pytest.fixture
def now():
    geo.forget_index()
    moving = clock.FixedClock(NOW)
    with clock.use(moving):
        yield moving


def busiest_quartier() -> Quartier:
    return max(Quartier.objects.all(), key=lambda q: Person.objects.filter(
        household__address__quartier=q, status="active").count())


def send_due(now) -> None:
    """Send what is due, second by second (the per-service rate limit defers the rest by a second)."""
    for _ in range(20):
        due = list(OutboxMessage.objects.filter(status="created", not_before__lte=clock.now()).values_list(
            "id", flat=True))
        if not due:
            return
        for start in range(0, len(due), 500):
            outbox.send_batch(due[start:start + 500])
        now.advance(timedelta(seconds=1))


def power_cut(quartier: Quartier, **kwargs) -> Incident:
    return alerts.create(AGENT, alerts.Draft("coupure_electricite", "Coupure secteur nord", [], [], [quartier.pk], [],
                                             **kwargs))


def test_alert_update_and_resolution_reach_the_same_frozen_recipients(now, sinks, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    quartier = busiest_quartier()
    incident = power_cut(quartier)
    residents = geo.select(alerts.target_of(incident), "alertes").resident_ids
    first = alerts.send(AGENT, incident.pk, "alerte", {"fr": "Coupure de courant jusqu'à 23 h.",
                                                       "en": "Power cut until 11 pm."})
    assert first["recipients"] == len(residents) > 0 and first["status"] == "active"
    rows = OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk))
    assert rows.count() == len(residents) and set(rows.values_list("lane", flat=True)) == {"urgent"}
    assert sorted(rows.values_list("person_id", flat=True)) == residents
    assert Link.objects.filter(purpose=alerts.LINK_PURPOSE).count() == len(residents)

    # a new resident moves into the quartier after the alert: not a recipient of the updates
    address = Address.objects.filter(quartier=quartier).first()
    household = Household.objects.create(address=address, updated_at=clock.now())
    newcomer = Person.objects.filter(status="active").exclude(id__in=residents).first()
    Person.objects.filter(pk=newcomer.pk).update(household=household)
    geo.forget_index()
    second = alerts.send(AGENT, incident.pk, "mise_a_jour", {"fr": "Retour prévu à minuit."})
    assert second["recipients"] == len(residents) and second["added"] == 0

    # …until the agent widens the area: the next message goes to everyone, old and new
    widened = {"type": "Feature", "properties": {"radius": 5},
               "geometry": {"type": "Point", "coordinates": [address.lon, address.lat]}}
    alerts.add_area(AGENT, incident.pk, [widened])
    third = alerts.send(AGENT, incident.pk, "fin", {"fr": "Le courant est rétabli."})
    assert third["added"] >= 1 and third["recipients"] == len(residents) + third["added"]
    assert IncidentRecipient.objects.get(incident=incident, person_id=newcomer.pk).from_seq == 3
    assert Incident.objects.get(pk=incident.pk).status == "resolue"

    send_due(now)
    sinks.pump()
    texts = list(SinkMessage.objects.values_list("channel", "body"))
    assert any("Coupure de courant jusqu'à 23 h." in body or "Coupure de courant jusqu'a 23 h." in body
               for _, body in texts)
    assert any("Le courant est rétabli" in body or "Le courant est retabli" in body for _, body in texts)
    sent = OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk)).exclude(status="created")
    assert sent.count() == OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk)).count()
    # residents without any fast channel are not written to about a power cut: cancelled, with the reason
    assert set(sent.filter(status="cancelled").values_list("error", flat=True)) <= {"aucun canal joignable"}
    assert not sent.filter(channel="letter").exists()
    stats = alerts.stats(Incident.objects.get(pk=incident.pk))
    assert sum(n for by in stats["channels"].values() for n in by.values()) == sent.count()
    assert stats["recipients"] == third["recipients"]
    with pytest.raises(alerts.IncidentError, match="résolu"):
        alerts.send(AGENT, incident.pk, "mise_a_jour", {"fr": "encore"})
    alerts.close(AGENT, incident.pk)
    with pytest.raises(alerts.IncidentError, match="clos"):
        alerts.send(AGENT, incident.pk, "fin", {"fr": "encore"})


def test_the_lifecycle_refuses_what_it_does_not_allow(now) -> None:
    incident = power_cut(busiest_quartier())
    with pytest.raises(alerts.IncidentError, match="d'abord l'alerte"):
        alerts.send(AGENT, incident.pk, "mise_a_jour", {"fr": "x"})
    with pytest.raises(alerts.IncidentError, match="français est obligatoire"):
        alerts.send(AGENT, incident.pk, "alerte", {"fr": "  ", "en": "only English"})
    with pytest.raises(alerts.IncidentError, match="trop long"):
        alerts.send(AGENT, incident.pk, "alerte", {"fr": "x" * 1001})
    with pytest.raises(alerts.IncidentError, match="type inconnu"):
        alerts.create(AGENT, alerts.Draft("meteorite", "x", [], [], [1], []))
    with pytest.raises(alerts.IncidentError, match="choisissez une zone"):
        alerts.create(AGENT, alerts.Draft("autre", "x", [], [], [], []))
    with pytest.raises(alerts.IncidentError, match="d'abord la fin"):
        alerts.close(AGENT, incident.pk)
    assert not OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk)).exists()


def test_a_large_alert_waits_for_a_second_agent(now, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 3
    incident = power_cut(busiest_quartier())
    waiting = alerts.send(AGENT, incident.pk, "alerte", {"fr": "Coupure."})
    assert waiting["approval_required"] and Incident.objects.get(pk=incident.pk).status == "a_valider"
    assert not OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk)).exists()
    with pytest.raises(alerts.IncidentError, match="autre agent"):
        alerts.approve(AGENT, incident.pk)
    sent = alerts.approve(SECOND, incident.pk)
    assert sent["recipients"] == waiting["recipients"] and sent["status"] == "active"
    assert Incident.objects.get(pk=incident.pk).approved_by == SECOND.label
    with pytest.raises(alerts.IncidentError, match="aucune alerte"):
        alerts.approve(SECOND, incident.pk)


def test_an_exercise_without_test_contacts_is_refused_and_sends_nothing(now, settings) -> None:
    settings.ALERT_TEST_CONTACTS = []
    incident = power_cut(busiest_quartier(), exercise=True)
    with pytest.raises(alerts.IncidentError, match="aucun n'est configuré — rien n'a été envoyé"):
        alerts.send(AGENT, incident.pk, "alerte", {"fr": "Ceci est un exercice."})
    settings.ALERT_TEST_CONTACTS = ["+33799999999"]  # held by nobody
    with pytest.raises(alerts.IncidentError, match="aucun habitant du registre ne détient"):
        alerts.send(AGENT, incident.pk, "alerte", {"fr": "Ceci est un exercice."})
    assert Incident.objects.get(pk=incident.pk).status == "brouillon" and not incident.messages.exists()


def test_an_exercise_reaches_only_the_test_contacts(now, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 3  # an exercise never waits
    tester = ContactPoint.objects.filter(kind="phone", is_mobile=True, status="active").order_by("id").first()
    settings.ALERT_TEST_CONTACTS = [tester.value]
    incident = power_cut(busiest_quartier(), exercise=True)
    result = alerts.send(AGENT, incident.pk, "alerte", {"fr": "Ceci est un exercice."})
    assert result["exercise"] and result["recipients"] == len(set(ContactPoint.objects.filter(
        value=tester.value).values_list("person_id", flat=True))) >= 1
    assert set(OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk)).values_list(
        "person_id", flat=True)) == {tester.person_id} | set(ContactPoint.objects.filter(
            value=tester.value).values_list("person_id", flat=True))


def test_residents_answer_by_sms_keyword_and_by_link_those_in_need_first(now, sinks, settings, agents) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    incident = power_cut(busiest_quartier())
    alerts.send(AGENT, incident.pk, "alerte", {"fr": "Coupure."})
    send_due(now)
    by_sms = OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk), channel="sms",
                                          status__in=("sent", "delivered")).order_by("id")
    texted = by_sms[0]
    receipts.apply_inbound("sms-a", {"from": texted.recipient, "text": "AIDE personne âgée seule au 3e"})
    helped = IncidentRecipient.objects.get(incident=incident, person_id=texted.person_id)
    assert helped.answer == "besoin_aide" and helped.answer_channel == "sms" and "âgée" in helped.note
    receipts.apply_inbound("sms-a", {"from": by_sms[1].recipient, "text": "ok merci"})
    assert IncidentRecipient.objects.get(incident=incident, person_id=by_sms[1].person_id).answer == "en_securite"

    # the link in the message: the resident says they are safe
    other = IncidentRecipient.objects.filter(incident=incident, answer="").exclude(
        person_id__in=[texted.person_id, by_sms[1].person_id]).first()
    link = Link.objects.get(purpose=alerts.LINK_PURPOSE, person_id=other.person_id)
    citizen = Client()
    opened = citizen.get(f"/l/{token_for(link.pk)}")
    assert opened.status_code == 302 and opened["Location"] == "/demarches/alerte/"
    page = citizen.get("/demarches/alerte/")
    assert page.status_code == 200 and "Comment allez-vous" in page.content.decode()
    assert citizen.post("/demarches/alerte/", {"reponse": "peut-etre"}).status_code == 400
    assert citizen.post("/demarches/alerte/", {"reponse": "en_securite"}).status_code == 302
    assert IncidentRecipient.objects.get(pk=other.pk).answer == "en_securite"
    assert Client().get("/demarches/alerte/").status_code == 403

    # the agent's list: the person who needs help comes first, with a number to call back
    agent = Client()
    agent.force_login(agents["police"])
    response = agent.get(f"/alertes/{incident.pk}/")
    assert response.status_code == 200
    rows = [a["person_id"] for a in response.context["answers"]]
    assert rows[0] == texted.person_id and len(rows) == 3
    chart = response.context["answers_chart"]  # cumulated answers, one line per answer, its table beside
    assert [s.label for s in chart.series] == ["en sécurité", "besoin d'aide"]
    assert (chart.series[0].data[-1], chart.series[1].data[-1]) == (2, 1)
    assert "Voir les valeurs" in response.content.decode()
    from proactif.audit.models import AccessLog
    assert AccessLog.objects.filter(purpose="securite_publique", person_id=texted.person_id,
                                    section="contacts").exists()
    # …and the same list as a file for the crisis cell: help first, spelt out, logged as an export
    exported = agent.get(f"/alertes/{incident.pk}/", {"export": "csv"})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode().lstrip("\ufeff").splitlines()
    assert lines[0].split(";")[:4] == ["Personne", "Réponse", "Reçue le", "Canal de la réponse"]
    assert len(lines) == 4 and lines[1].split(";")[1] == "besoin d'aide" and ";SMS;" in lines[1]
    assert set(AccessLog.objects.filter(action="export_list", section="contacts").values_list(
        "person_id", flat=True)) == set(rows)


def test_road_works_are_imported_as_scheduled_alerts_once(now, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    data = json.loads(reference_file("paris-chantiers-perturbants-75015-sample.geojson").read_text(encoding="utf-8"))
    bad = {"type": "Feature", "properties": {"identifiant": "X1", "date_debut": "hier", "date_fin": "demain"},
           "geometry": data["features"][0]["geometry"]}
    data["features"].append(bad)
    with clock.use(clock.FixedClock(datetime(2018, 4, 1, 8, 0, tzinfo=UTC))):
        report = alerts.import_roadworks(AGENT, data)
        assert report["created"] + report["past"] == 20 and report["created"] > 0
        assert report["rejected"] == [{"feature": 21, "reason": "date_debut illisible : 'hier'"}]
        again = alerts.import_roadworks(AGENT, data)
        assert again["created"] == 0 and again["updated"] == report["created"]
    works = Incident.objects.filter(source="import:chantiers")
    assert works.count() == report["created"]
    first = works.order_by("starts_at").first()
    assert first.type_code == "travaux" and first.status == "brouillon" and first.pending["texts"]["fr"]
    assert first.send_at == first.starts_at - timedelta(days=2)
    with clock.use(clock.FixedClock(first.send_at + timedelta(minutes=1))):
        done = alerts.send_scheduled()
    assert done["sent"] >= 1
    assert Incident.objects.get(pk=first.pk).status == "active"


def test_the_map_counts_while_drawing_and_sends_from_the_agent_interface(now, agents, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    agent = Client()
    agent.force_login(agents["police"])
    quartier = busiest_quartier()
    body = {"areas": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": quartier.geometry}]}}
    counted = agent.post("/alertes/compter/", json.dumps(body), content_type="application/json")
    assert counted.status_code == 200
    figures = counted.json()
    expected = geo.select(geo.Target(quartier_ids=[quartier.pk]))
    assert figures["residents"] == len(expected.resident_ids) and figures["streets"]
    refused = agent.post("/alertes/compter/", json.dumps({"areas": {"type": "LineString", "coordinates": []}}),
                         content_type="application/json")
    assert refused.status_code == 400 and "non pris en charge" in refused.json()["error"]
    sent = agent.post("/alertes/envoyer/", json.dumps({**body, "type": "coupure_eau", "titre": "Fuite",
                                                        "texte": "Eau coupée jusqu'à 18 h."}),
                      content_type="application/json")
    assert sent.status_code == 201, sent.content
    assert sent.json()["recipients"] == len(expected.resident_ids)
    missing = agent.post("/alertes/envoyer/", json.dumps({**body, "type": "coupure_eau", "titre": "Fuite"}),
                         content_type="application/json")
    assert missing.status_code == 400 and "français" in missing.json()["errors"]["form"]
    assert Incident.objects.filter(title="Fuite").count() == 1  # the refused one left nothing behind
    assert agent.get("/alertes/couches/quartiers.json").json()["features"]
    assert len(agent.get("/alertes/couches/adresses.json").json()["ids"]) == Address.objects.exclude(lon=None).count()
    assert agent.get("/alertes/couches/rues.json").json()["features"]
    assert agent.get("/alertes/").status_code == 200
    ccas = Client()
    ccas.force_login(agents["ccas"])
    assert ccas.get("/alertes/").status_code == 403


def test_a_fan_out_interrupted_between_chunks_is_finished_once_by_the_resume_job(now, settings, monkeypatch) -> None:
    from proactif.alerts import _dispatch as dispatch
    from proactif.alerts.models import IncidentMessage
    from proactif.messaging import services as messaging

    settings.ALERT_APPROVAL_THRESHOLD = 0
    incident = power_cut(busiest_quartier())
    frozen = alerts._freeze(AGENT, incident.pk, "alerte", {"fr": "Coupure."})
    real_send, calls = messaging.send_to_many, []

    def crash_at_third_chunk(spec, people):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("worker killed")
        return real_send(spec, people)

    monkeypatch.setattr(messaging, "send_to_many", crash_at_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        dispatch.fan_out(frozen["message_id"], chunk=10)
    monkeypatch.setattr(messaging, "send_to_many", real_send)
    messages = OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk))
    assert messages.count() == 20 < frozen["recipients"]
    assert IncidentMessage.objects.get(pk=frozen["message_id"]).fanout_done == 20
    assert alerts.resume_fan_outs() == {"resumed": 0, "written": 0}  # still fresh: its worker may be alive
    now.advance(timedelta(minutes=3))
    resumed = alerts.resume_fan_outs()
    assert resumed == {"resumed": 1, "written": frozen["recipients"] - 20}
    assert messages.count() == frozen["recipients"] == messages.values("person_id").distinct().count()
    assert IncidentMessage.objects.get(pk=frozen["message_id"]).fanned_out_at is not None


def test_the_agent_widens_the_area_from_the_incident_page(now, agents, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    first, second = sorted(Quartier.objects.all(), key=lambda q: -Person.objects.filter(
        household__address__quartier=q, status="active").count())[:2]
    incident, sent = alerts.open_incident(AGENT, alerts.Draft("inondation", "Crue", [], [], [first.pk], []),
                                          {"fr": "Montée des eaux."})
    agent = Client()
    agent.force_login(agents["police"])
    assert agent.post(f"/alertes/{incident.pk}/", {"action": "etendre"}).status_code == 400
    assert agent.post(f"/alertes/{incident.pk}/", {"action": "etendre", "quartiers": ["x"]}).status_code == 400
    widened = agent.post(f"/alertes/{incident.pk}/", {"action": "etendre", "quartiers": [str(second.pk)]})
    assert widened.status_code == 302
    update = alerts.send(AGENT, incident.pk, "mise_a_jour", {"fr": "Décrue demain."})
    newcomers = len(geo.select(geo.Target(quartier_ids=[second.pk])).resident_ids)
    assert update["added"] == newcomers > 0 and update["recipients"] == sent["recipients"] + newcomers
    assert agent.get(f"/alertes/{incident.pk}/").status_code == 200


def test_the_local_pmtiles_basemap_is_served_by_byte_ranges_to_agents_only(now, agents, settings, tmp_path) -> None:
    from tests.alerts.basemap import write

    agent = Client()
    agent.force_login(agents["police"])
    settings.MAP_PMTILES = None
    assert agent.get("/alertes/fond.pmtiles").status_code == 404
    assert "data-fond" not in agent.get("/alertes/").content.decode()
    archive = tmp_path / "fond.pmtiles"
    assert write(archive) > 10
    settings.MAP_PMTILES, settings.MAP_ATTRIBUTION = str(archive), "Test — fond local"
    page = agent.get("/alertes/").content.decode()
    assert 'data-fond="/alertes/fond.pmtiles"' in page and "vendor/pmtiles/pmtiles.js" in page
    header = agent.get("/alertes/fond.pmtiles", HTTP_RANGE="bytes=0-126")
    assert header.status_code == 206 and header["Content-Range"] == f"bytes 0-126/{archive.stat().st_size}"
    assert header.content == archive.read_bytes()[:127] and header.content[:7] == b"PMTiles"
    whole = agent.get("/alertes/fond.pmtiles")
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == archive.read_bytes()
    assert agent.get("/alertes/fond.pmtiles", HTTP_RANGE=f"bytes={archive.stat().st_size}-").status_code == 416
    ccas = Client()
    ccas.force_login(agents["ccas"])
    assert ccas.get("/alertes/fond.pmtiles", HTTP_RANGE="bytes=0-126").status_code == 403


def test_an_urgent_task_waits_out_the_rate_limit_instead_of_leaving_messages_to_the_sweeper(sinks, settings) -> None:
    from proactif.messaging import tasks

    settings.ALERT_APPROVAL_THRESHOLD = 0
    settings.RATE_LIMITS = "sms=20,email=20,push=20,letter=20,whatsapp=20,messenger=20"
    settings.SMS_TIMEOUT_MS = 5000  # under a loaded CI a sink's answer may take more than 0.8 s: not what is tested
    geo.forget_index()
    street = Address.objects.exclude(lon=None).values("voie_id").annotate(n=models.Count("households__members")) \
        .filter(n__gte=12).order_by("-n").first()["voie_id"]
    incident, sent = alerts.open_incident(AGENT, alerts.Draft("coupure_eau", "Fuite", [], [street], [], []),
                                          {"fr": "Eau coupée."})
    ids = list(OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk)).values_list("id", flat=True))
    assert len(ids) == sent["recipients"] >= 12
    figures = tasks.send_urgent(ids)
    left = OutboxMessage.objects.filter(pk__in=ids, status="created").count()
    assert left == 0 and figures["send"] + figures.get("cancel", 0) == len(ids) and figures["defer"] > 0, figures
