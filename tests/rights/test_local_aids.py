"""Local aids as YAML rules: checked with every problem listed; evaluated beside OpenFisca's benefits — the
school-canteen tariff from the quotient familial — with the households already receiving it left out."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from proactif.cli import main
from proactif.registry import services as registry
from proactif.rights import _local_aids as local_aids
from proactif.rights import _screening as screening
from proactif.rights import services as rights

pytestmark = pytest.mark.django_db
PERIOD = "2026-11"


def test_a_rule_with_problems_is_refused_with_every_problem(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: aide noel\nname: Aide\nconditions:\n  - {field: revenu, op: '~', value: 3}\n"
                   "  - {field: enfants, op: '>=', value: deux}\n"
                   "amount: {brackets: {field: quotient_familial, steps: [{up_to: 900, amount: 10}, "
                   "{up_to: 400, amount: 20}]}}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["rights", "aids", "check", str(bad)])
    assert result.exit_code == 1
    for expected in ("clé « aide noel »", "champ inconnu « revenu »", "opérateur inconnu « ~ »",
                     "condition 2 : nombre attendu, « deux » lu", "up_to croissants"):
        assert expected in result.output, expected
    shipped = local_aids.SHIPPED / "tarif-cantine.yaml"
    good = CliRunner().invoke(main, ["rights", "aids", "check", str(shipped), "--json"])
    assert good.exit_code == 0 and json.loads(good.output)["key"] == "local:tarif_cantine"


def test_the_canteen_tariff_follows_the_quotient_familial() -> None:
    aid = local_aids.parse((local_aids.SHIPPED / "tarif-cantine.yaml").read_text(encoding="utf-8"))
    family = {"enfants_3_11": 2, "quotient_familial": 350.0}
    assert aid.evaluate(family)[0] == 112.0  # 56 € a month per child in the first bracket
    assert aid.evaluate({**family, "quotient_familial": 950.0})[0] == 48.0
    assert aid.evaluate({**family, "quotient_familial": 1500.0}) == (0.0, [])
    assert aid.evaluate({**family, "enfants_3_11": 0})[0] == 0.0
    parts = local_aids.quotient_familial({"enfants": 3, "adultes": 1, "ressources_total": 1800.0}, {"af": 300.0})
    assert parts == round(2100 / 4, 2)  # single parent: 2 parts, 0.5 + 0.5 + 1 for three children


def test_local_aids_are_screened_beside_the_national_benefits() -> None:
    aids = rights.local_aids()
    assert "local:tarif_cantine" in rights.all_benefits() and rights.label("local:tarif_cantine").startswith("Tarif")
    ids = next(registry.household_ids_in_chunks(400))
    rows = screening.screen_chunk(ids, PERIOD, benefits=("rsa", "local:tarif_cantine"), aids=aids).rows
    canteen = [r for r in rows if r.benefit == "local:tarif_cantine"]
    assert len(canteen) == len(ids) and any(r.detected for r in canteen)
    for r in canteen:
        assert not r.detected or (r.amount >= screening.FLOOR and not r.receiving and "quotient_familial_estime"
                                  in r.missing)
