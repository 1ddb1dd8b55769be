"""CAP 1.2: every message of an incident — the alert, an update, the resolution — validates against the
OASIS schema (`data/cap-v1.2.xsd`), with one `info` per language, the areas as polygons or circles,
the later messages referencing the earlier ones, the resolution as an Update with responseType AllClear; the
CLI prints it and the Atom feed lists the active alerts."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from click.testing import CliRunner
from django.test import Client

from proactif.accounts.domain import system_actor
from proactif.alerts import _feeds as feeds
from proactif.alerts import _reach as reach
from proactif.alerts import domain
from proactif.alerts import services as alerts
from proactif.cli import main
from proactif.geo import services as geo
from proactif.kernel import clock
from proactif.registry.models import Address, Quartier
from tests.conftest import reference_file

NS = {"cap": domain.CAP_NS}
AGENT = system_actor("police-1")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(reference_file("cap-v1.2.xsd")))


def test_the_pure_builder_gives_valid_cap_for_every_type_and_shape(schema) -> None:
    sent = datetime(2026, 11, 30, 21, 5, 7, 123, tzinfo=UTC)
    for code in domain.TYPES:
        message = domain.CapMessage(
            identifier=f"test.{code}.2", sender="alertes@belleroche.example", sent=sent, status="Actual",
            msg_type="Update", type_code=code, sender_name="Ville de Belleroche",
            texts={"fr": {"headline": "Titre", "description": "Texte & <détails>"},
                   "en": {"headline": "Title", "description": "Text"}},
            areas=[domain.CapArea("Rue X", polygons=(((2.3, 48.8), (2.31, 48.8), (2.31, 48.81)),),
                                  circles=((2.3, 48.8, 250.0),))],
            references=[("alertes@belleroche.example", f"test.{code}.1", sent)], resolution=code == "autre")
        xml = domain.cap_xml(message)
        schema.validate(xml)
        root = ET.fromstring(xml)
        assert root.findtext("cap:sent", namespaces=NS) == "2026-11-30T21:05:07+00:00"
        assert [i.findtext("cap:language", namespaces=NS) for i in root.findall("cap:info", NS)] == ["fr-FR", "en-GB"]
        polygon = root.findtext("cap:info/cap:area/cap:polygon", namespaces=NS)
        assert polygon.split()[0] == polygon.split()[-1] == "48.800000,2.300000" and len(polygon.split()) == 4
        assert root.findtext("cap:info/cap:area/cap:circle", namespaces=NS) == "48.800000,2.300000 0.250"
    with pytest.raises(ValueError, match="quatre points"):
        domain.cap_polygon([(2.3, 48.8), (2.31, 48.8)])


@pytest.mark.django_db
def test_alert_update_and_resolution_validate_and_chain(schema, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    geo.forget_index()
    quartier = max(Quartier.objects.all(), key=lambda q: Address.objects.filter(quartier=q).count())
    circle = {"type": "Feature", "properties": {"radius": 300},
              "geometry": {"type": "Point", "coordinates": [2.3, 48.85]}}
    drawn = {"type": "Feature", "properties": {}, "geometry": quartier.geometry}
    with clock.use(clock.FixedClock(datetime(2026, 11, 30, 20, 0, tzinfo=UTC))) as moving:
        incident, _ = alerts.open_incident(AGENT, alerts.Draft("inondation", "Crue", [drawn, circle], [], [], []),
                                           {"fr": "Montée des eaux.", "en": "Rising water."})
        moving.advance(timedelta(hours=1))
        alerts.send(AGENT, incident.pk, "mise_a_jour", {"fr": "Décrue amorcée."})
        moving.advance(timedelta(hours=1))
        alerts.send(AGENT, incident.pk, "fin", {"fr": "Fin de la vigilance.", "en": "All clear."})
    documents = [feeds.cap_document(incident.pk, seq) for seq in (1, 2, 3)]
    for xml in documents:
        schema.validate(xml)
    alert, update, allclear = (ET.fromstring(x) for x in documents)
    assert alert.findtext("cap:msgType", namespaces=NS) == "Alert" and alert.find("cap:references", NS) is None
    assert alert.findtext("cap:status", namespaces=NS) == "Actual"
    assert len(alert.findall("cap:info", NS)) == 2 and len(update.findall("cap:info", NS)) == 1
    area = alert.find("cap:info/cap:area", NS)
    assert area.findtext("cap:polygon", namespaces=NS) and area.findtext("cap:circle", namespaces=NS).endswith(
        " 0.300")
    first_id = alert.findtext("cap:identifier", namespaces=NS)
    assert update.findtext("cap:msgType", namespaces=NS) == "Update"
    assert update.findtext("cap:references", namespaces=NS) == (
        f"{settings.ALERT_SENDER},{first_id},2026-11-30T20:00:00+00:00")
    assert allclear.findtext("cap:msgType", namespaces=NS) == "Update"
    assert len(allclear.findtext("cap:references", namespaces=NS).split()) == 2
    assert {r.text for r in allclear.findall("cap:info/cap:responseType", NS)} == {"AllClear"}

    cli = CliRunner().invoke(main, ["alert", "cap", str(incident.pk)])
    assert cli.exit_code == 0 and cli.output == documents[-1]
    schema.validate(CliRunner().invoke(main, ["alert", "cap", str(incident.pk), "--seq", "1"]).output)
    missing = CliRunner().invoke(main, ["alert", "cap", "999999"])
    assert missing.exit_code == 1 and "inconnu" in missing.output

    http = Client().get(f"/alertes/{incident.pk}/cap/2.xml")  # public: other systems read it
    assert http.status_code == 200 and http["Content-Type"].startswith("application/cap+xml")
    schema.validate(http.content.decode())


@pytest.mark.django_db
def test_streets_and_quartiers_get_the_hull_of_their_addresses_and_the_feed_lists_active_alerts(
        schema, settings, test_contacts) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    geo.forget_index()
    voie = Address.objects.exclude(lon=None).values_list("voie_id", flat=True).order_by("voie_id").first()
    incident, _ = alerts.open_incident(AGENT, alerts.Draft("travaux", "Voirie", [], [voie], [], []),
                                       {"fr": "Travaux de nuit."})
    exercise, _ = alerts.open_incident(AGENT, alerts.Draft("autre", "Exercice", [], [voie], [], [], exercise=True),
                                       {"fr": "Exercice."})
    xml = feeds.cap_document(incident.pk, 1)
    schema.validate(xml)
    assert ET.fromstring(xml).findtext("cap:info/cap:area/cap:polygon", namespaces=NS)
    exercise_xml = feeds.cap_document(exercise.pk, 1)
    schema.validate(exercise_xml)
    assert ET.fromstring(exercise_xml).findtext("cap:status", namespaces=NS) == "Exercise"

    atom = Client().get("/alertes/flux.atom")
    assert atom.status_code == 200
    feed = ET.fromstring(atom.content)
    atom_ns = {"a": "http://www.w3.org/2005/Atom"}
    links = [e.find("a:link", atom_ns).get("href") for e in feed.findall("a:entry", atom_ns)]
    assert any(link.endswith(f"/alertes/{incident.pk}/cap/1.xml") for link in links)
    assert not any(f"/alertes/{exercise.pk}/" in link for link in links)  # exercises stay off the public feed


@pytest.mark.django_db
def test_alert_send_from_the_command_line(tmp_path, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    geo.forget_index()
    quartier = max(Quartier.objects.all(), key=lambda q: Address.objects.filter(quartier=q).count())
    area = tmp_path / "zone.geojson"
    area.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": quartier.geometry}))
    result = CliRunner().invoke(main, ["alert", "send", "--area", str(area), "--type", "coupure_electricite",
                                       "--text", "Coupure jusqu'à 18 h", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    residents = geo.residents(geo.Target(quartier_ids=[quartier.pk]))
    expected = reach.reach_exact(geo.Target(quartier_ids=[quartier.pk]), "coupure_electricite")
    assert printed["recipients"] == len(residents) == expected.residents > 0
    assert printed["reachable"] == expected.channels and "letter" not in printed["reachable"]  # not for a power cut
    assert printed["unreachable"] == expected.unreachable and printed["incident"] > 0
    update = CliRunner().invoke(main, ["alert", "update", str(printed["incident"]), "--text", "Fin à 19 h", "--json"])
    assert json.loads(update.output.strip().splitlines()[-1])["seq"] == 2
    bad = CliRunner().invoke(main, ["alert", "send", "--area", str(area), "--type", "tornade", "--text", "x"])
    assert bad.exit_code == 1 and "type inconnu" in bad.output


@pytest.mark.django_db
def test_the_other_alert_commands_extend_approve_list_and_import(tmp_path, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 3
    geo.forget_index()
    first, second = sorted(Quartier.objects.all(), key=lambda q: -Address.objects.filter(quartier=q).count())[:2]

    def run(*args: str) -> dict:
        result = CliRunner().invoke(main, ["alert", *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])

    sent = run("send", "--quartier", first.code, "--type", "coupure_eau", "--text", "Eau coupée.")
    assert sent["approval_required"] and sent["status"] == "a_valider"
    sender = os.environ.get("USER", "inconnu")  # the CLI acts as cli:$USER: the same person cannot approve
    refused = CliRunner().invoke(main, ["alert", "approve", str(sent["incident"]), "--by", sender])
    assert refused.exit_code == 1 and "autre agent" in refused.output
    approved = run("approve", str(sent["incident"]), "--by", "chef")
    assert approved["recipients"] == sent["recipients"] and approved["status"] == "active"
    widened = run("extend", str(sent["incident"]), "--quartier", second.code)
    assert widened["quartiers"] == sorted([first.pk, second.pk])
    unknown = CliRunner().invoke(main, ["alert", "extend", str(sent["incident"]), "--quartier", "nulle-part"])
    assert unknown.exit_code == 1 and "quartier inconnu" in unknown.output
    listed = run("list", "--status", "active")
    assert [i["id"] for i in listed["incidents"]] == [sent["incident"]]
    assert listed["incidents"][0]["recipients"] == sent["recipients"]
    imported = run("import-roadworks", str(reference_file("paris-chantiers-perturbants-75015-sample.geojson")))
    assert imported["past"] == 20 and imported["created"] == 0 and imported["rejected"] == []


@pytest.mark.django_db
def test_an_exercise_cap_document_is_not_public(agents, settings, test_contacts) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    geo.forget_index()
    voie = Address.objects.exclude(lon=None).values_list("voie_id", flat=True).order_by("voie_id").first()
    real, _ = alerts.open_incident(AGENT, alerts.Draft("travaux", "Voirie", [], [voie], [], []), {"fr": "Travaux."})
    exercise, _ = alerts.open_incident(AGENT, alerts.Draft("autre", "Exercice", [], [voie], [], [], exercise=True),
                                       {"fr": "Exercice."})
    anonymous = Client()
    assert anonymous.get(f"/alertes/{real.pk}/cap/1.xml").status_code == 200
    refused = anonymous.get(f"/alertes/{exercise.pk}/cap/1.xml")
    missing = anonymous.get(f"/alertes/{exercise.pk}/cap/9.xml")
    assert refused.status_code == missing.status_code == 404  # like an unknown message: no oracle
    other = Client()
    other.force_login(agents["ccas"])
    assert other.get(f"/alertes/{exercise.pk}/cap/1.xml").status_code == 404
    police = Client()
    police.force_login(agents["police"])  # the agents running the exercise still read its documents
    assert police.get(f"/alertes/{exercise.pk}/cap/1.xml").status_code == 200


def cap_polygon(xml: str) -> object:
    from shapely.geometry import Polygon

    text = ET.fromstring(xml).findtext("cap:info/cap:area/cap:polygon", namespaces=NS)
    return Polygon([(float(lon), float(lat)) for lat, lon in (pair.split(",") for pair in text.split())])


@pytest.mark.django_db
def test_a_single_address_alert_publishes_its_street_not_the_address(schema, settings) -> None:
    """The probe's case: an alert aimed at one address published that address (a 30 m circle around the point,
    and the agent's label) in CAP and Atom. What leaves is the whole street and its name."""
    from django.db.models import Count
    from shapely.geometry import Point

    settings.ALERT_APPROVAL_THRESHOLD = 0
    geo.forget_index()
    voie = (Address.objects.exclude(lon=None).values("voie_id").annotate(n=Count("id"))
            .filter(n__gte=geo.PUBLIC_MIN_ADDRESSES).order_by("-n", "voie_id").first()["voie_id"])
    street = list(Address.objects.filter(voie_id=voie).exclude(lon=None).select_related("voie"))
    home = street[len(street) // 2]
    draft = alerts.Draft("coupure_eau", "Fuite", [], [], [], [home.pk], area_label=f"{home.label}, 2e étage")
    incident, _ = alerts.open_incident(AGENT, draft, {"fr": "Fuite d'eau dans l'immeuble."})
    xml = feeds.cap_document(incident.pk, 1)
    schema.validate(xml)
    published = cap_polygon(xml)
    assert all(published.buffer(1e-6).covers(Point(a.lon, a.lat)) for a in street)  # the whole street
    assert published.area > 10 * Point(home.lon, home.lat).buffer(0.0003).area
    assert home.label not in xml and "2e étage" not in xml
    assert ET.fromstring(xml).findtext("cap:info/cap:area/cap:areaDesc", namespaces=NS) == home.voie.nom
    atom = Client().get("/alertes/flux.atom").content.decode()
    assert home.voie.nom in atom and home.label not in atom

    target = geo.Target.of(address_ids=[home.pk])  # a street of a few houses: its quartier
    wider = geo.generalised(target, min_addresses=len(street) + 1)
    assert wider.address_ids == [] and wider.voie_ids == [] and wider.quartier_ids == [home.quartier_id]
