"""Screening by chunks (one vectorised OpenFisca simulation per chunk of households): the export's amounts
equal a direct OpenFisca calculation of the situation `proactif rights situation` prints; detections need two
eligible months, leave out those already receiving and those who refused to be informed, and keep their
reasons; a re-run with unchanged inputs comes from the cache, a changed household is computed again."""

from __future__ import annotations

import csv
import json
import random
from datetime import date

import pytest
from click.testing import CliRunner

from proactif.cli import main
from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.registry.models import MonthlyResource, OptOut, Person
from proactif.rights import _openfisca as openfisca
from proactif.rights import _screening as screening
from proactif.rights import domain
from proactif.rights import services as rights
from proactif.rights.models import Assessment, HouseholdResult, ScreeningRun

pytestmark = pytest.mark.django_db
PERIOD = "2026-11"


def screen(*args: str) -> dict:
    result = CliRunner().invoke(main, ["screen", "--period", PERIOD, "--workers", "1", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_the_exports_amounts_equal_a_direct_openfisca_calculation_of_the_printed_situation(tmp_path) -> None:
    export = tmp_path / "detections.csv"
    figures = screen("--export", str(export), "--chunk", "400")
    with open(export, encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle, delimiter=";"))
    assert len(exported) == len(figures["benefits"]) * figures["households"]  # national and local
    assert "local:tarif_cantine" in figures["benefits"]
    by_household: dict[int, dict[str, float]] = {}
    for row in exported:
        if row["benefit"] in domain.BENEFITS:  # what OpenFisca computes
            by_household.setdefault(int(row["household_id"]), {})[row["benefit"]] = float(row["amount"])
    eligible = sorted(h for h, amounts in by_household.items() if any(amounts.values()))
    sample = random.Random(7).sample(eligible, 3) + random.Random(8).sample(sorted(by_household), 2)
    for household_id in sample:
        printed = CliRunner().invoke(main, ["rights", "situation", str(household_id), "--period", PERIOD])
        direct = domain.amounts(openfisca.compute(json.loads(printed.output)), PERIOD)
        assert by_household[household_id] == pytest.approx(direct, abs=0.01), household_id
    assert sum(int(r["detected"]) for r in exported if r["benefit"] == "rsa") == figures["benefits"]["rsa"]["detected"]
    run = ScreeningRun.objects.get(pk=figures["run"])
    assert (run.status, run.households_done, run.chunks_done) == ("done", figures["households"], run.chunks_total)
    assert run.model_version == openfisca.model_version() == figures["model"]


def test_detections_are_stable_not_received_not_refused_and_explained() -> None:
    household_ids = next(registry.household_ids_in_chunks(300))
    rows = screening.screen_chunk(household_ids, PERIOD).rows
    assert any(r.detected for r in rows)
    for r in rows:
        assert not r.detected or (r.eligible and r.stable and not r.receiving and not r.opposed)
        assert not r.stable or r.previous_amount > 0
        if r.eligible:
            assert r.confidence in domain.CONFIDENCE
            assert set(r.reasons) <= set(domain.REASONS) and set(r.missing) <= set(domain.MISSING)
    ppa = next(r for r in rows if r.detected and r.benefit == "prime_activite")
    assert "revenus_activite" in ppa.reasons and "stable_deux_mois" in ppa.reasons
    # an amount over a pension or a wage known in net only, which the benefit reads gross (the ASPA: OpenFisca
    # then counts it as nothing), is never a detection, and says what is missing
    for r in rows:
        if "montant_brut" in r.missing:
            assert r.benefit == "aspa" and r.confidence == "faible" and not r.detected
    # refusing to be informed removes the household's detections
    member = registry.household_member_ids(ppa.household_id)[0]
    OptOut.objects.create(person_id=member, purpose="droits", channel="*", source="guichet", created_at=clock.now())
    again = screening.screen_chunk([ppa.household_id], PERIOD).rows
    assert not any(r.detected for r in again) and all(r.opposed for r in again)


def test_a_rerun_takes_unchanged_households_from_the_cache_and_recomputes_a_changed_one() -> None:
    first = screen("--benefits", "rsa,prime_activite", "--chunk", "500")
    assert first["from_cache"] == 0
    kept = HouseholdResult.objects.filter(period=PERIOD).count()
    assert kept == first["households"]
    second = screen("--benefits", "rsa,prime_activite", "--chunk", "500")
    assert second["from_cache"] == second["households"] == first["households"]
    assert second["benefits"] == first["benefits"]
    # new wages for someone: their household is computed again, the others come from the cache
    person = Person.objects.filter(status="active", date_naissance__lt=date(1990, 1, 1)).exclude(
        household_id=None).first()
    MonthlyResource.objects.create(person=person, month=date(2026, 10, 1), kind="salaire", amount=2400,
                                   updated_at=clock.now())
    third = screen("--benefits", "rsa,prime_activite", "--chunk", "500")
    assert third["from_cache"] == third["households"] - 1
    changed = HouseholdResult.objects.get(household_id=person.household_id, period=PERIOD)
    assert changed.computed_at >= HouseholdResult.objects.exclude(pk=changed.pk).latest("computed_at").computed_at
    assert Assessment.objects.filter(run_id=third["run"]).exists()


def test_bad_parameters_are_refused_with_the_option_named() -> None:
    result = CliRunner().invoke(main, ["screen", "--period", "2026-13", "--workers", "1"])
    assert result.exit_code == 2 and "--period" in result.output
    result = CliRunner().invoke(main, ["screen", "--benefits", "rsa,loto", "--workers", "1"])
    assert result.exit_code == 2 and "loto" in result.output
    assert not ScreeningRun.objects.exists()


def test_what_a_chunk_sets_to_default_is_what_openfisca_computes_alone() -> None:
    """In a chunk's arrays a (variable, period) given for some households is an input for all of them, the others
    getting the default (zero): for every variable OpenFisca would compute that only some households give, a few
    households that leave it out are computed alone, and OpenFisca gives them the default too — so a household's
    amounts are the same alone and in its chunk (the received benefits of past months are given by everyone)."""
    system = openfisca.tax_benefit_system()
    given: dict[tuple[str, str, str], set[str]] = {}
    situations = {h: rights.situation(h, PERIOD) for chunk in registry.household_ids_in_chunks(10_000) for h in chunk}
    everyone: dict[str, dict[str, int]] = {}
    for household_id, situation in situations.items():
        for plural, instances in situation.items():
            for key, variables in instances.items():
                everyone.setdefault(plural, {})[key] = household_id
                for name, by_period in variables.items():
                    if isinstance(by_period, dict):
                        for period, value in by_period.items():
                            if value is not None:
                                given.setdefault((plural, name, period), set()).add(key)
    lacking: dict[tuple[str, str], dict[str, set[str]]] = {}  # (plural, variable) → entity → periods left out
    for (plural, name, period), keys in given.items():
        if len(keys) < len(everyone[plural]) and system.get_variable(name).formulas:
            for key in sorted(set(everyone[plural]) - keys)[:200]:
                lacking.setdefault((plural, name), {}).setdefault(key, set()).add(period)
    assert {name for _, name in lacking} <= {"salaire_net", "salaire_imposable", "retraite_nette", "retraite_imposable",
                                              "chomage_net", "chomage_imposable", "chomage_brut",
                                              "bourse_criteres_sociaux", "caah", "mva"}
    checked = 0
    for (plural, name), entities in sorted(lacking.items()):
        for key in sorted(entities, key=lambda k: everyone[plural][k])[:2]:
            situation = situations[everyone[plural][key]]
            alone = openfisca.simulate(situation)
            index = list(situation[plural]).index(key)
            default = system.get_variable(name).default_value
            for period in sorted(entities[key]):
                assert alone.calculate_add(name, period)[index] == pytest.approx(default), (name, period, key)
                checked += 1
    assert checked > 0
