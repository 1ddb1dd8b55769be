"""The register of vulnerable people, rule by rule, each test citing the article it checks (Code de l'action sociale
et des familles, CASF): who may be registered (R121-3), the request by a third party and the person's objection
(R121-6, L121-6-1 as amended by loi 2024-317), the acknowledgement (8 days), removal (R121-5, R121-11; one month:
RGPD art. 12-3), the préfet's file (R121-8) holding exactly the register's fields (R121-4), and the purpose lock
(L121-6-1, R121-7: the register serves the alert and emergency plans only)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.test import Client

from proactif.accounts.domain import system_actor
from proactif.audit.models import AccessLog
from proactif.kernel import clock
from proactif.messaging.models import OutboxMessage
from proactif.registry.models import Person
from proactif.watch import domain, services
from proactif.watch.models import Contact, Need, Registration

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
TODAY = date(2026, 11, 28)


def born(years: int, days: int = 0) -> date:
    return TODAY.replace(year=TODAY.year - years) - timedelta(days=days)


def applicant(age: int, *, home: bool = True, active: bool = True, unfit: bool = False,
              handicap: tuple[str, ...] = ()) -> domain.Applicant:
    return domain.Applicant(born=born(age), living_at_home=home, active=active, unfit_for_work=unfit,
                            handicap=handicap)


# --- R121-3: who may be registered ------------------------------------------------------------------------------
def test_r121_3_1_a_person_of_65_or_more_living_at_home() -> None:
    assert domain.eligible_qualites(applicant(65), TODAY) == ["age_65"]
    assert domain.eligible_qualites(domain.Applicant(born=born(65) + timedelta(days=1), living_at_home=True,
                                                     active=True), TODAY) == []  # 65 tomorrow


def test_r121_3_2_over_60_and_recognised_unfit_for_work() -> None:
    assert domain.eligible_qualites(applicant(61, unfit=True), TODAY) == ["inapte_60"]
    assert domain.eligible_qualites(applicant(60, unfit=True), TODAY) == []  # « plus de 60 ans »: 60 is not over 60
    assert domain.eligible_qualites(applicant(62), TODAY) == []  # not recognised unfit


@pytest.mark.parametrize("titre", sorted(domain.HANDICAP_TITRES))
def test_r121_3_3_a_disabled_adult_with_any_recognition_the_article_names(titre: str) -> None:
    assert domain.eligible_qualites(applicant(40, handicap=(titre,)), TODAY) == ["handicap"]


def test_r121_3_3_a_disabled_child_is_not_an_adult() -> None:
    assert domain.eligible_qualites(applicant(16, handicap=("pch",)), TODAY) == []


def test_r121_3_living_at_home_is_required_whatever_the_age() -> None:
    """« les personnes … résidant à leur domicile »: not a resident of an EHPAD or a hospital."""
    assert domain.eligible_qualites(applicant(88, home=False), TODAY) == []
    with pytest.raises(domain.NotEligible, match=r"résidant à leur domicile.*R121-3"):
        domain.check_eligible(applicant(88, home=False), "age_65", TODAY)
    with pytest.raises(domain.NotEligible, match="R121-3 1°"):
        domain.check_eligible(applicant(50), "age_65", TODAY)
    with pytest.raises(domain.NotEligible, match=r"quitté|plus la commune"):
        domain.check_eligible(applicant(80, active=False), "age_65", TODAY)


def unregistered(min_age: int = 66, max_age: int = 100) -> int:
    today = clock.today()
    registered = Registration.objects.values_list("person_id", flat=True)
    person = Person.objects.filter(
        status="active", source="synth", date_naissance__lte=today.replace(year=today.year - min_age),
        date_naissance__gt=today.replace(year=today.year - max_age), household__address__isnull=False,
        taux_incapacite__lt=50).exclude(pk__in=registered).exclude(benefits__benefit="aah").exclude(
        resources__kind="invalidite").order_by("id").first()
    assert person is not None
    return int(person.pk)


def test_r121_3_enrolment_refuses_someone_not_living_at_home_in_one_sentence() -> None:
    person_id = unregistered()
    with pytest.raises(services.WatchError, match="résidant à leur domicile"):
        services.enrol(ACTOR, services.Request(person_id, "age_65", living_at_home=False))
    assert not Registration.objects.filter(person_id=person_id).exists()


def test_r121_3_a_younger_person_needs_a_recognised_disability() -> None:
    person_id = unregistered(30, 55)
    with pytest.raises(services.WatchError, match="R121-3 3°"):
        services.enrol(ACTOR, services.Request(person_id, "handicap"))
    registration = services.enrol(ACTOR, services.Request(person_id, "handicap", handicap=["rqth"]))
    assert registration.status == "inscrite" and registration.handicap == ["rqth"]


# --- R121-4 and R121-6: the request, a third party, the acknowledgement ----------------------------------------
def test_r121_4_a_third_partys_request_names_the_third_party_and_their_quality() -> None:
    person_id = unregistered()
    with pytest.raises(services.WatchError, match=r"nom et sa qualité.*R121-4"):
        services.enrol(ACTOR, services.Request(person_id, "age_65", requested_by="tiers"))
    registration = services.enrol(ACTOR, services.Request(
        person_id, "age_65", requested_by="tiers", third_party_name="Dr Anne LEROY", third_party_quality="medecin",
        contacts=[services.ContactInput("urgence", "Paul DURAND", "fils", "06 12 34 56 78")]))
    assert (registration.third_party_name, registration.third_party_quality) == ("Dr Anne LEROY", "medecin")
    assert Contact.objects.get(registration=registration).telephone == "+33612345678"


def test_acknowledgement_leaves_at_enrolment_well_within_8_days_and_says_how_to_object() -> None:
    person_id = unregistered()
    registration = services.enrol(ACTOR, services.Request(
        person_id, "age_65", requested_by="tiers", third_party_name="Marie DURAND", third_party_quality="proche",
        requested_on=clock.today() - timedelta(days=2)))
    assert registration.acknowledged_on is not None
    assert registration.acknowledged_on <= domain.ack_due(registration.requested_on)
    message = OutboxMessage.objects.get(idempotency_key__startswith=f"veille:ar:{registration.pk}:")
    assert (message.person_id, message.template_key, message.purpose) == (
        person_id, "veille.accuse_reception", "veille_sante")
    assert message.policy == ["preferred", "letter"]
    data = services.acknowledgement_views([registration.pk])[registration.pk]
    assert data["tiers"] == "Marie DURAND (proche)"


def test_an_entry_whose_acknowledgement_is_overdue_is_listed() -> None:
    person_id = unregistered()
    registration = services.enrol(ACTOR, services.Request(person_id, "age_65"))
    Registration.objects.filter(pk=registration.pk).update(
        acknowledged_on=None, requested_on=clock.today() - timedelta(days=domain.ACK_DAYS + 1))
    assert registration.pk in set(services.entries(flag="accuse_en_retard").values_list("id", flat=True))
    Registration.objects.filter(pk=registration.pk).update(requested_on=clock.today() - timedelta(days=domain.ACK_DAYS))
    assert registration.pk not in set(services.entries(flag="accuse_en_retard").values_list("id", flat=True))


def test_l121_6_1_an_objection_after_a_third_partys_request_removes_and_holds() -> None:
    """The person informed of a third party's request (or of a transmission, loi 2024-317) may object: they are
    removed at once, and neither a later transmission nor another third party registers them again; only their own
    request does."""
    person_id = unregistered()
    registration = services.enrol(ACTOR, services.Request(
        person_id, "age_65", requested_by="tiers", third_party_name="Marie DURAND", third_party_quality="proche",
        need="Se déplace avec un déambulateur", need_agreement="telephone",
        contacts=[services.ContactInput("urgence", "Marie DURAND", "fille", "0612345678")]))
    services.remove(ACTOR, registration.pk, "opposition")
    registration.refresh_from_db()
    assert registration.status == "radiee" and registration.removal_reason == "opposition"
    assert not Contact.objects.filter(registration=registration).exists()
    assert not Need.objects.filter(registration=registration).exists()
    assert services.holders([person_id]) == set()
    with pytest.raises(services.WatchError, match="opposée"):
        services.enrol(ACTOR, services.Request(person_id, "age_65", requested_by="transmission", transmission="apa"))
    with pytest.raises(services.WatchError, match="opposée"):
        services.enrol(ACTOR, services.Request(person_id, "age_65", requested_by="tiers",
                                               third_party_name="Voisin", third_party_quality="autre"))
    again = services.enrol(ACTOR, services.Request(person_id, "age_65", requested_by="personne"))
    assert again.status == "inscrite" and services.holders([person_id]) == {person_id}


# --- R121-5, R121-11: removal -----------------------------------------------------------------------------------
def test_r121_11_removal_on_request_empties_the_entry_at_once() -> None:
    person_id = unregistered()
    registration = services.enrol(ACTOR, services.Request(
        person_id, "age_65", home_service="SSIAD Les Tilleuls", need="Oxygénothérapie", need_agreement="ecrit",
        contacts=[services.ContactInput("urgence", "Paul DURAND", "fils", "0612345678")]))
    services.remove(ACTOR, registration.pk, "demande")
    registration.refresh_from_db()
    assert (registration.status, registration.removed_on, registration.telephone, registration.home_service) == (
        "radiee", clock.today(), "", "")
    assert registration.removed_on <= domain.removal_due(registration.removal_asked_on)
    assert not Need.objects.filter(registration=registration).exists()
    with pytest.raises(services.WatchError, match="déjà radiée"):
        services.remove(ACTOR, registration.pk, "demande")


def test_r121_5_a_move_out_or_a_death_removes_the_entry_at_the_daily_reconciliation() -> None:
    moved, died = unregistered(), unregistered(80)
    for person_id in (moved, died):
        services.enrol(ACTOR, services.Request(person_id, "age_65"))
    Person.objects.filter(pk=moved).update(status="moved_out")
    Person.objects.filter(pk=died).update(status="deceased")
    figures = services.reconcile()
    assert figures["removed"] >= 2
    reasons = dict(Registration.objects.filter(person_id__in=[moved, died]).values_list("person_id", "removal_reason"))
    assert reasons == {moved: "demenagement", died: "deces"}


# --- R121-8 and R121-4: the préfet's file ----------------------------------------------------------------------
def client_for(agents: dict, who: str, purpose: str | None = None) -> Client:
    client = Client()
    client.force_login(agents[who])
    if purpose:
        session = client.session
        session["proactif_purpose"] = purpose
        session.save()
    return client


def test_r121_8_the_prefets_file_holds_exactly_the_register_fields_of_r121_4(agents) -> None:
    result = services.record_level(ACTOR, services.departements()[0], "canicule", "orange")
    client = client_for(agents, "sante")
    response = client.get(f"/veille/plans/{result['plan']['id']}/prefet.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nom", "Prénoms", "Date de naissance", "Qualité au titre de laquelle la personne est inscrite",
                       "Adresse", "Numéro de téléphone", "Service intervenant à domicile",
                       "Personne à prévenir en cas d'urgence", "Date de la demande",
                       "Nom et qualité du tiers ayant demandé l'inscription"]
    assert len(rows) - 1 == services.registered_count() > 0
    assert all(len(row) == len(rows[0]) for row in rows)
    logged = AccessLog.objects.filter(action="export_prefet")
    assert logged.count() == services.registered_count()
    assert set(logged.values_list("purpose", "section")) == {("prevention_sante", "veille")}
    for row in rows[1:]:  # nothing beyond the register: no needs, no health data, no « vit seul »
        assert "déambulateur" not in ";".join(row) and "Oxygén" not in ";".join(row)


def test_r121_8_no_file_for_the_prefet_before_the_plan_is_triggered(agents) -> None:
    result = services.record_level(ACTOR, services.departements()[0], "canicule", "jaune")
    response = client_for(agents, "sante").get(f"/veille/plans/{result['plan']['id']}/prefet.csv")
    assert response.status_code == 400 and "déclenché" in response.content.decode()


# --- the purpose lock ------------------------------------------------------------------------------------------
REGISTER_PAGES = ("/veille/", "/veille/registre/", "/veille/registre/inscrire/")


@pytest.mark.parametrize("page", REGISTER_PAGES)
def test_l121_6_1_a_police_agent_gets_403_on_the_register(agents, page: str) -> None:
    assert client_for(agents, "police").get(page).status_code == 403


@pytest.mark.parametrize("page", REGISTER_PAGES)
def test_l121_6_1_a_ccas_agent_under_action_sociale_gets_403_and_under_prevention_sante_gets_in(agents,
                                                                                              page: str) -> None:
    assert client_for(agents, "ccas", "action_sociale").get(page).status_code == 403
    assert client_for(agents, "ccas").get(page).status_code == 403  # their default purpose is action sociale
    assert client_for(agents, "ccas", "prevention_sante").get(page).status_code == 200


@pytest.mark.parametrize("who", ["dpo", "etat_civil", "communication", "admin"])
def test_no_other_service_nor_the_dpo_reads_the_register_pages(agents, who: str) -> None:
    """The DPO reaches the register through the GDPR export of a person only."""
    assert client_for(agents, who).get("/veille/registre/").status_code == 403


def test_every_read_of_the_register_is_logged_naming_the_persons(agents) -> None:
    client = client_for(agents, "sante")
    before = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert client.get("/veille/registre/").status_code == 200
    rows = AccessLog.objects.filter(id__gt=before)
    shown = min(50, services.registered_count())
    assert rows.count() == shown > 0
    assert set(rows.values_list("purpose", "section", "action")) == {("prevention_sante", "veille", "view")}
    entry = Registration.objects.filter(status="inscrite").first()
    assert entry is not None
    assert client.get(f"/veille/registre/{entry.pk}/").status_code == 200
    assert AccessLog.objects.order_by("-id").first().person_id == entry.person_id


def test_a_veille_sante_consent_cannot_be_granted_any_more_but_may_be_refused(agents) -> None:
    """Its basis is the register (decision 0008): a grant through the registry is refused with the field named."""
    from proactif.accounts import services as accounts
    from proactif.accounts.domain import access_for
    from proactif.registry import domain as registry_domain
    from proactif.registry import services as registry

    access = access_for(accounts.actor_for_agent(agents["ccas"]), "action_sociale")
    person_id = unregistered()
    with pytest.raises(registry_domain.FieldError, match="ne repose pas sur un consentement"):
        registry.record_consent(access, person_id, purpose="veille_sante", channel="*", decision="granted",
                                source="guichet", text_version="v1")
    registry.record_consent(access, person_id, purpose="veille_sante", channel="*", decision="denied",
                            source="guichet", text_version="v1")


def test_the_person_file_shows_the_register_only_under_prevention_sante(agents) -> None:
    entry = Registration.objects.filter(status="inscrite").first()
    assert entry is not None
    page = f"/habitants/{entry.person_id}/"
    shown = client_for(agents, "ccas", "prevention_sante").get(page).content.decode()
    assert "Inscription au registre des personnes vulnérables depuis le" in shown
    hidden = client_for(agents, "ccas", "action_sociale").get(page).content.decode()
    assert "registre des personnes vulnérables" not in hidden.lower()


# --- L121-6-1 I al. 3 (loi 2024-317): transmissions of the département and the CARSAT -----------------------------
def identity_line(person_id: int, **extra: str) -> str:
    person = Person.objects.get(pk=person_id)
    values = {"nom": person.nom_naissance.lower(), "prenoms": person.prenoms.split(" ")[0].upper(),
              "date_naissance": person.date_naissance.strftime("%d/%m/%Y"), "opposition": "", **extra}
    return ";".join(values[c] for c in ("nom", "prenoms", "date_naissance", "opposition"))


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_l121_6_1_a_transmission_enrols_honours_objections_and_reports_every_line(tmp_path, line_end: str) -> None:
    today = clock.today()
    older = list(Person.objects.filter(status="active", source="synth", date_naissance__lte=today.replace(
        year=today.year - 70)).exclude(pk__in=Registration.objects.values_list("person_id", flat=True)).order_by(
        "id").values_list("id", flat=True)[:4])
    fresh, opposed_in_file, opposed_before, registered = older
    services.remove(ACTOR, services.enrol(ACTOR, services.Request(
        opposed_before, "age_65", requested_by="tiers", third_party_name="X", third_party_quality="proche")).pk,
        "opposition")
    services.enrol(ACTOR, services.Request(registered, "age_65"))
    rows = ["nom;prenoms;date_naissance;opposition", identity_line(fresh),
            identity_line(opposed_in_file, opposition="oui"), identity_line(opposed_before),
            identity_line(registered), "INCONNU;Personne;01/01/1940;", "MARTIN;Claire;31/02/1940;"]
    path = tmp_path / "apa.csv"
    path.write_bytes(line_end.join(rows).encode("utf-8") + line_end.encode())
    report = services.import_transmission(ACTOR, "apa", str(path))
    assert (report["lines"], report["enrolled"], report["already_registered"], report["objected"],
            report["not_found"]) == (6, 1, 1, 2, 1)
    assert [r["line"] for r in report["rejected"]] == [3, 4, 6, 7]
    assert "date invalide" in report["rejected"][-1]["reason"]
    entry = Registration.objects.get(person_id=fresh)
    assert (entry.requested_by, entry.transmission, entry.status) == ("transmission", "apa", "inscrite")
    assert not Registration.objects.filter(person_id=opposed_in_file).exists()
    again = services.import_transmission(ACTOR, "apa", str(path))
    assert again["enrolled"] == 0 and again["already_registered"] == 2


def test_a_transmission_file_without_its_columns_is_refused_in_one_line(tmp_path) -> None:
    path = tmp_path / "pch.csv"
    path.write_text("name;surname\nA;B\n", encoding="utf-8")
    with pytest.raises(services.WatchError, match="colonnes manquantes : nom, prenoms, date_naissance"):
        services.import_transmission(ACTOR, "pch", str(path))
    with pytest.raises(services.WatchError, match="organisme inconnu"):
        services.import_transmission(ACTOR, "cpam", str(path))


def test_an_agent_imports_a_transmitted_file_in_the_browser_and_each_enrolment_is_logged(agents, tmp_path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    person_id = unregistered()
    content = ("nom;prenoms;date_naissance\n" + identity_line(person_id).rsplit(";", 1)[0] + "\n"
               "INCONNU;Personne;01/01/1940\n").encode()
    client = client_for(agents, "sante")
    response = client.post("/veille/registre/transmission/", {
        "organisme": "carsat", "fichier": SimpleUploadedFile("carsat.csv", content, content_type="text/csv")})
    html = response.content.decode()
    assert response.status_code == 200 and "1 personne inscrite" in html and "aucun habitant actif" in html
    entry = Registration.objects.get(person_id=person_id)
    assert (entry.requested_by, entry.transmission) == ("transmission", "carsat")
    logged = AccessLog.objects.filter(person_id=person_id, action="change", section="veille")
    assert logged.count() == 2  # the enrolment and its acknowledgement
    assert set(logged.values_list("purpose", flat=True)) == {"prevention_sante"}
    assert client.post("/veille/registre/transmission/", {"organisme": "carsat"}).status_code == 400
