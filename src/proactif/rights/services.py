"""Rights detection as the platform uses it."""

from __future__ import annotations

from typing import Any

from proactif.registry import services as registry
from proactif.rights import domain, openfisca

BENEFITS = tuple(domain.BENEFITS)


def situation(household_id: int, period: str) -> dict[str, Any]:
    """The exact OpenFisca situation (Web API format) the platform computes for a household and a month."""
    from django.core.exceptions import ObjectDoesNotExist

    months = [domain.month_start(m) for m in (period, *domain.previous_months(period))]
    try:
        composition = registry.household_composition(household_id, months)
    except ObjectDoesNotExist:
        raise LookupError(f"foyer {household_id} inconnu") from None
    return domain.situation(composition, period)


def compute_household(household_id: int, period: str) -> dict[str, Any]:
    """One household computed on its own (the OpenFisca Web API way): the monthly amount per benefit."""
    result = openfisca.compute(situation(household_id, period))
    return {"household_id": household_id, "period": period, "model": openfisca.model_version(),
            "amounts": domain.amounts(result, period)}


def households_count() -> int:
    return registry.households_with_residents()


def model_version() -> str:
    return openfisca.model_version()
