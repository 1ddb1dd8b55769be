"""The register's part in the GDPR rights: the export holds the entry, its contacts (third parties the person
named), the needs (health data), the plans' contacts and calls; the erasure removes them all but the bare fact of
an objection; the retention purge deletes removed entries after a month and old contacts of the plans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from proactif.accounts.domain import system_actor
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.watch import _gdpr as gdpr
from proactif.watch import services
from proactif.watch.models import Call, CheckIn, Contact, Need, Plan, Registration, RegistrationEvent
from tests.watch.test_register import unregistered

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")


def enrolled_with_everything() -> Registration:
    person_id = unregistered()
    registration = services.enrol(ACTOR, services.Request(
        person_id, "age_65", requested_by="tiers", third_party_name="Dr LEROY", third_party_quality="medecin",
        need="Oxygénothérapie à domicile", need_agreement="ecrit", home_service="SSIAD Les Tilleuls",
        contacts=[services.ContactInput("urgence", "Paul DURAND", "fils", "0612345678")]))
    now = clock.now()
    plan = Plan.objects.filter(ended_at__isnull=True).first() or Plan.objects.create(
        phenomenon="canicule", departement="75", level=3, status="alerte", started_at=now, raised_at=now)
    checkin = CheckIn.objects.create(plan=plan, registration=registration, person_id=person_id, day=clock.today(),
                                     created_at=now, answer="besoin_aide", answer_channel="appel")
    Call.objects.create(checkin=checkin, at=now, by="agent", outcome="besoin_aide", note="courses à faire")
    return registration


def test_the_export_holds_the_entry_its_contacts_needs_and_calls() -> None:
    registration = enrolled_with_everything()
    data = audit.export_person(ACTOR, registration.person_id)
    entry = data["registre_vulnerables"]["registre_vulnerables"]
    assert entry["qualite"] == "Personne âgée de 65 ans et plus"
    assert entry["tiers_demandeur"] == "Dr LEROY — Médecin traitant"
    assert entry["contacts"][0]["nom"] == "Paul DURAND" and entry["contacts"][0]["telephone"] == "+33612345678"
    assert entry["besoins_particuliers"]["texte"] == "Oxygénothérapie à domicile"
    assert entry["contacts_des_plans"][0]["appels"][0]["note"] == "courses à faire"


def test_the_erasure_removes_everything() -> None:
    registration = enrolled_with_everything()
    plan = {item.category: item.action for item in gdpr.plan_erasure(registration.person_id)}
    assert plan["besoins particuliers (données de santé)"] == "erase"
    gdpr.erase(registration.person_id)
    assert not Registration.objects.filter(person_id=registration.person_id).exists()
    assert not Contact.objects.filter(registration_id=registration.pk).exists()
    assert not Need.objects.filter(registration_id=registration.pk).exists()
    assert not CheckIn.objects.filter(person_id=registration.person_id).exists()


def test_an_objection_survives_the_erasure_alone_so_that_it_keeps_holding() -> None:
    registration = enrolled_with_everything()
    services.remove(ACTOR, registration.pk, "opposition")
    assert any(item.action == "retain" for item in gdpr.plan_erasure(registration.person_id))
    gdpr.erase(registration.person_id)
    kept = Registration.objects.get(pk=registration.pk)
    assert (kept.status, kept.third_party_name, kept.telephone, kept.handicap) == ("radiee", "", "", [])
    assert list(RegistrationEvent.objects.filter(registration=kept).values_list("kind", "by")) == [("opposition", "")]
    assert services.objected(registration.person_id)


def test_the_purge_deletes_removed_entries_after_a_month_and_old_contacts(settings) -> None:
    registration = enrolled_with_everything()
    services.remove(ACTOR, registration.pk, "demande")
    Registration.objects.filter(pk=registration.pk).update(removed_on=clock.today() - timedelta(days=10))
    gdpr.purge()
    assert Registration.objects.filter(pk=registration.pk).exists()  # within the month
    Registration.objects.filter(pk=registration.pk).update(removed_on=clock.today() - timedelta(days=32))
    figures = gdpr.purge()
    assert figures["registre_radiations_supprimees"] == 1
    assert not Registration.objects.filter(pk=registration.pk).exists()
    live = enrolled_with_everything()
    CheckIn.objects.filter(registration=live).update(day=clock.today() - timedelta(
        days=settings.WATCH_CHECKIN_RETENTION_DAYS + 1))
    assert gdpr.purge()["contacts_des_plans"] == 1
    assert Registration.objects.filter(pk=live.pk, status="inscrite").exists()
