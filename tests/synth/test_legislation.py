"""The synthetic commune follows the legislation the screening applies: on seed 11 (2,000 residents), the
generator's decisions (from OpenFisca-France's parameters at the seed date) agree with OpenFisca's own results
for at least 90 % of households per benefit, and the screening's figures fall in national orders of magnitude."""

from __future__ import annotations

from typing import Any

import pytest

from proactif.kernel import clock
from proactif.rights import services as rights
from proactif.synth import domain as facts
from proactif.synth import services as synth

pytestmark = pytest.mark.django_db

# Shares of households, from national orders of magnitude (rights.domain.NATIONAL) widened for a small commune
RANGES = {("aspa", "detected"): (0.2, 5), ("aide_logement", "eligible"): (8, 40), ("rsa", "eligible"): (2, 20),
          ("aah", "eligible"): (1, 6), ("prime_activite", "eligible"): (8, 35), ("css_gratuite", "eligible"): (5, 30),
          ("cheque_energie", "eligible"): (8, 35)}


@pytest.fixture(scope="module")
def screened(django_db_setup: Any, django_db_blocker: Any) -> dict[str, Any]:
    """Seed 11 in place of the session's commune, screened for the seed month; the session's commune is put
    back after the module (the seeded tables are emptied and seeded again)."""
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            seeded = synth.seed(2000, 11, reset=True, parallel=False)
            run = rights.start_run(clock.today().strftime("%Y-%m"), chunk=500, submit=False, use_cache=False)
            run = rights.run_locally(run.pk, 1)
            figures = {"seed": seeded, "households": run.households_total, "summary": run.summary,
                       "quality": synth.detection_quality(run.pk)}
            transaction.set_rollback(True)
    return figures


def test_the_generators_eligibility_agrees_with_openfisca_for_nine_households_in_ten(screened) -> None:
    quality = screened["quality"]
    assert set(quality) == set(rights.BENEFITS)
    for benefit, q in quality.items():
        assert q["households"] == screened["households"] > 900
        assert q["eligibility_agreement"] >= 0.9, (benefit, q)
        assert q["synth_eligible"] > 0 and q["openfisca_eligible"] > 0, benefit


def test_the_screenings_figures_fall_in_national_orders_of_magnitude(screened) -> None:
    households = screened["households"]
    for (benefit, what), (low, high) in RANGES.items():
        share = 100 * screened["summary"][benefit][what] / households
        assert low <= share <= high, (benefit, what, round(share, 1))
    assert screened["summary"]["aspa"]["eligible"] < households / 20  # never a third of the commune again


def test_detected_over_eligible_is_near_the_synthetic_non_take_up(screened) -> None:
    """What the screening finds unclaimed is what the generator left unclaimed (within ten points): detection also
    asks two stable months, an amount above the floor and no opposition, and OpenFisca's eligibility is not exactly
    the generator's."""
    non_recours = screened["seed"]["non_recours"]
    for benefit in ("rsa", "prime_activite", "css_gratuite", "aide_logement", "aspa", "cheque_energie"):
        summary = screened["summary"][benefit]
        found = summary["detected"] / summary["eligible"]
        assert abs(found - non_recours[benefit]["not_claiming_share"]) <= 0.10, (benefit, found, non_recours[benefit])
        assert abs(non_recours[benefit]["not_claiming_share"] - (1 - facts.TAKE_UP[benefit])) < 0.2


def test_detection_is_measured_against_the_ground_truth(screened) -> None:
    """Precision and recall of detection against what the generator decided (the benefits with enough households
    in a 2,000-resident commune; the chèque énergie's monthly amounts mostly fall under the floor)."""
    for benefit in ("rsa", "prime_activite", "css_gratuite", "css_participation", "aide_logement"):
        q = screened["quality"][benefit]
        assert q["precision"] >= 0.7 and q["recall"] >= 0.6, (benefit, q)
    assert all(q["precision"] is not None for q in screened["quality"].values())
