"""Screening by chunks (one OpenFisca simulation per chunk of households) gives, for every household and
benefit, the amount a direct OpenFisca calculation gives on the situation `proactif rights situation` prints;
detections leave out those already receiving and those who refused to be informed; the export has one row
per household and benefit."""

from __future__ import annotations

import csv
import json
import random

import pytest
from click.testing import CliRunner

from proactif.cli import main
from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.registry.models import OptOut
from proactif.rights import domain, openfisca, screening

pytestmark = pytest.mark.django_db
PERIOD = "2026-11"


def test_chunk_amounts_equal_a_direct_openfisca_calculation_of_the_printed_situation() -> None:
    household_ids = next(registry.household_ids_in_chunks(60))
    rows = screening.screen_chunk(household_ids, PERIOD)
    by_household: dict[int, dict[str, float]] = {}
    for row in rows:
        by_household.setdefault(row.household_id, {})[row.benefit] = row.amount
    assert set(by_household) == set(household_ids)
    for household_id in random.Random(7).sample(household_ids, 3):
        printed = CliRunner().invoke(main, ["rights", "situation", str(household_id), "--period", PERIOD])
        direct = domain.amounts(openfisca.compute(json.loads(printed.output)), PERIOD)
        assert by_household[household_id] == pytest.approx(direct, abs=0.01), household_id


def test_detections_leave_out_receivers_and_refusals_and_the_export_has_a_row_per_household_and_benefit(
        tmp_path) -> None:
    household_ids = next(registry.household_ids_in_chunks(60))
    rows = screening.screen_chunk(household_ids, PERIOD)
    assert all(not (r.detected and (r.receiving or not r.eligible)) for r in rows)
    assert any(r.eligible for r in rows)
    detected = next((r for r in rows if r.detected), None)
    if detected is not None:  # refusing to be informed removes the household's detections
        member = registry.household_compositions([detected.household_id], [])[detected.household_id]["members"][0]
        OptOut.objects.create(person_id=member["id"], purpose="droits", channel="*", source="guichet",
                              created_at=clock.now())
        again = screening.screen_chunk([detected.household_id], PERIOD)
        assert not any(r.detected for r in again)
    export = tmp_path / "detections.csv"
    result = CliRunner().invoke(main, ["screen", "--period", PERIOD, "--benefits", "rsa,aspa", "--export",
                                       str(export), "--json", "--chunk", "500"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert set(figures["benefits"]) == {"rsa", "aspa"} and figures["households"] > 0
    with open(export, encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle, delimiter=";"))
    assert len(exported) == 2 * figures["households"]
    assert set(exported[0]) == {"household_id", "benefit", "eligible", "receiving", "detected", "amount"}
    assert sum(int(r["detected"]) for r in exported if r["benefit"] == "rsa") == figures["benefits"]["rsa"]["detected"]
