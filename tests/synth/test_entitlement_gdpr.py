"""The generator's ground truth is data about a household's members: exported with a person, planned and erased
with them (the household's rows), wiped with the registry."""

import pytest

from proactif.accounts import services as accounts
from proactif.audit import services as gdpr
from proactif.registry.models import Person
from proactif.synth.models import Entitlement

pytestmark = pytest.mark.django_db


def test_a_households_ground_truth_is_exported_planned_erased_and_wiped(agents: dict) -> None:
    dpo = accounts.actor_for_agent(agents["dpo"])
    entitlement = Entitlement.objects.order_by("id").first()
    assert entitlement is not None  # the session's commune carries its ground truth
    person = Person.objects.filter(household_id=entitlement.household_id).order_by("id").first()
    rows = Entitlement.objects.filter(household_id=entitlement.household_id)
    exported = gdpr.export_person(dpo, person.pk)["commune synthétique"]["droits_simules"]
    assert {row["prestation"] for row in exported} == set(rows.values_list("benefit", flat=True))
    plan = {item.category: (item.action, item.count) for item in gdpr.erasure_plan(person.pk)}
    assert plan["droits simulés du foyer (commune synthétique)"] == ("erase", rows.count())
    gdpr.erase_person(dpo, person.pk, "demande n° 21")
    assert not rows.exists() and Entitlement.objects.exists()  # this household's, not the others'
    gdpr.wipe_everyone()
    assert not Entitlement.objects.exists()
