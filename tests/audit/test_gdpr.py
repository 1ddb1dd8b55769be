import json
from datetime import timedelta

import pytest

from proactif.accounts import services as accounts
from proactif.accounts.domain import access_for
from proactif.audit import services as gdpr
from proactif.audit.models import AccessLog
from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.registry.models import Consent, ContactPoint, Document, Person

pytestmark = pytest.mark.django_db


def dpo(agents: dict):
    return accounts.actor_for_agent(agents["dpo"])


def test_export_holds_every_category_and_who_consulted(agents: dict) -> None:
    person = Person.objects.filter(status="active", contacts__isnull=False, documents__isnull=False).first()
    registry.person_file(access_for(accounts.actor_for_agent(agents["etat_civil"])), person.pk)
    data = gdpr.export_person(dpo(agents), person.pk)
    json.dumps(data, default=str)  # serialisable as the file handed to the person
    assert data["registre"]["identite"]["nom_naissance"] == person.nom_naissance
    assert data["registre"]["coordonnees"] and data["registre"]["documents"]
    assert any(row["acteur"] == "etat_civil@test.proactif.fr" for row in data["journal_des_acces"]["consultations"])
    assert AccessLog.objects.filter(person_id=person.pk, action="export").exists()


def test_a_resident_keeps_the_identity_needed_by_the_public_mission(agents: dict) -> None:
    person = Person.objects.filter(status="active", contacts__isnull=False, documents__isnull=False).first()
    plan = {item.category: item.action for item in gdpr.erasure_plan(person.pk)}
    assert plan["identité"] == "retain" and plan["coordonnées"] == "erase" and plan["consentements"] == "retain"
    gdpr.erase_person(dpo(agents), person.pk, "demande n° 12")
    person.refresh_from_db()
    assert person.nom_naissance != "ANONYME"
    assert not ContactPoint.objects.filter(person=person).exists()
    assert Document.objects.filter(person=person).exists()


def test_someone_who_left_is_anonymised(agents: dict) -> None:
    person = Person.objects.filter(status="active", contacts__isnull=False).first()
    person.status = "moved_out"
    person.save()
    born_year = person.date_naissance.year
    gdpr.erase_person(dpo(agents), person.pk, "demande n° 13")
    person.refresh_from_db()
    assert (person.nom_naissance, person.prenoms, person.nir, person.status) == ("ANONYME", "ANONYME", None,
                                                                                 "anonymised")
    assert person.date_naissance.year == born_year and person.date_naissance.timetuple().tm_yday == 1
    assert AccessLog.objects.filter(person_id=person.pk, action="erase").exists()


def test_an_erasure_needs_a_reason(agents: dict) -> None:
    with pytest.raises(ValueError, match="motif"):
        gdpr.erase_person(dpo(agents), Person.objects.first().pk, " ")


def test_the_retention_purge_anonymises_people_gone_for_long_and_keeps_current_consent(settings) -> None:
    gone = Person.objects.filter(status="active").first()
    Person.objects.filter(pk=gone.pk).update(status="deceased",
                                             status_changed_on=clock.today() - timedelta(days=800))
    recent = Person.objects.filter(status="active").exclude(pk=gone.pk).first()
    Person.objects.filter(pk=recent.pk).update(status="moved_out", status_changed_on=clock.today())
    old = clock.now() - timedelta(days=2000)
    first = Consent.objects.create(person=recent, purpose="information", channel="*", decision="granted",
                                   source="test", text_version="v1", recorded_at=old)
    latest = Consent.objects.create(person=recent, purpose="information", channel="*", decision="revoked",
                                    source="test", text_version="v1", recorded_at=old + timedelta(days=1))
    figures = gdpr.purge()
    assert figures["registre"]["residents_anonymised"] >= 1
    assert Person.objects.get(pk=gone.pk).status == "anonymised"
    assert Person.objects.get(pk=recent.pk).status == "moved_out"
    assert not Consent.objects.filter(pk=first.pk).exists() and Consent.objects.filter(pk=latest.pk).exists()
