"""The OpenFisca situation of a household, as `proactif rights situation` prints it: complete (every member in
one famille, one foyer fiscal, the ménage, with their roles), with the known inputs over the previous quarter,
and runnable as it is in OpenFisca-France — the per-household path gives the amounts of every benefit."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from proactif.cli import main
from proactif.registry.models import BenefitReceipt, Person
from proactif.rights import _openfisca as openfisca
from proactif.rights import domain
from proactif.rights import services as rights

pytestmark = pytest.mark.django_db
PERIOD = "2026-11"


def test_a_households_situation_is_complete_and_runs_in_openfisca() -> None:
    household_id = BenefitReceipt.objects.filter(benefit="rsa").exclude(famille=None).values_list(
        "famille__household_id", flat=True).first()
    members = set(Person.objects.filter(household_id=household_id, status="active").values_list("id", flat=True))
    printed = CliRunner().invoke(main, ["rights", "situation", str(household_id), "--period", PERIOD])
    assert printed.exit_code == 0, printed.output
    built = json.loads(printed.output)
    assert built == rights.situation(household_id, PERIOD)
    names = {f"p{pk}" for pk in members}
    assert set(built["individus"]) == names
    for plural, roles in (("familles", ("parents", "enfants")), ("foyers_fiscaux", ("declarants",
                                                                                    "personnes_a_charge")),
                          ("menages", ("personne_de_reference", "conjoint", "enfants", "autres"))):
        placed = [name for group in built[plural].values() for role in roles for name in group[role]]
        assert sorted(placed) == sorted(names), plural
    menage = next(iter(built["menages"].values()))
    assert len(menage["personne_de_reference"]) == 1 and menage["statut_occupation_logement"][PERIOD]
    for variable, entity, kind in domain.BENEFITS.values():
        asked = {PERIOD: None, "2026-10": None} if kind == "month" else {PERIOD[:4]: None}
        assert all({p: v for p, v in instance[variable].items() if v is None} == asked
                   for instance in built[entity].values())
    assert sorted(domain.asked(built)) == sorted(domain.asked_for(PERIOD))  # what a chunk's simulation asks
    computed = domain.amounts(openfisca.compute(built), PERIOD)
    assert set(computed) == set(domain.BENEFITS) and all(value >= 0 for value in computed.values())
    assert rights.compute_household(household_id, PERIOD)["amounts"] == computed


def test_known_resources_are_given_for_both_months_and_the_quarter_before_each() -> None:
    composition = {"id": 1, "statut_occupation": "locataire", "loyer": 620.0, "depcom": "75115",
                   "members": [{"id": 1, "date_naissance": None, "sexe": "F", "menage_role": "personne_de_reference",
                                "famille_id": 3, "famille_role": "parent", "foyer_fiscal_id": 4,
                                "foyer_role": "declarant", "taux_incapacite": 0}],
                   "resources": {1: {"salaire": {"2026-10": 900.0, "2026-09": 850.0}}},
                   "benefits_paid": {}, "benefits_receiving": {}}
    built = domain.situation(composition, PERIOD)
    months = domain.input_months(PERIOD)  # the two screened months and the twelve before each
    assert months[0] == PERIOD and months[-1] == "2025-10" and len(months) == 14
    assert built["individus"]["p1"]["salaire_net"] == {m: {"2026-10": 900.0, "2026-09": 850.0}.get(m, 0.0)
                                                       for m in months}
    assert built["menages"]["m1"]["loyer"]["2025-10"] == 620.0
    # every input month (the prime d'activité reads each month of its quarter), and January (the chèque énergie)
    assert built["menages"]["m1"]["statut_occupation_logement"] == dict.fromkeys(months, "locataire_vide")
    # what the administration knows to be absent is zero over the years looked back on
    assert built["individus"]["p1"]["ass"] == {"2024": 0, "2025": 0, "2026": 0}
    # the screened benefits: asked for both months, nothing before when the household does not receive them
    assert built["familles"]["f3"]["rsa"] == {**{m: 0 for m in months[2:]}, PERIOD: None, "2026-10": None}
    assert built["individus"]["p1"]["aah"]["2025-10"] == 0 and built["individus"]["p1"]["aah"][PERIOD] is None


def test_an_unknown_household_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ["rights", "situation", "999999999", "--period", PERIOD])
    assert result.exit_code != 0 and "inconnu" in result.output
