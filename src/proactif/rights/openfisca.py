"""The OpenFisca-France adapter: one tax-benefit system per process (building it takes seconds), and the
calculation of a Web API situation the way OpenFisca's Web API does it — the per-household path."""

from __future__ import annotations

import copy
import importlib.metadata
from functools import cache
from typing import Any


@cache
def tax_benefit_system() -> Any:
    from openfisca_france import FranceTaxBenefitSystem

    return FranceTaxBenefitSystem()


def model_version() -> str:
    """What every result records: the OpenFisca-France and OpenFisca-Core versions."""
    return (f"openfisca-france {importlib.metadata.version('openfisca-france')}, "
            f"openfisca-core {importlib.metadata.version('openfisca-core')}")


def compute(situation: dict[str, Any]) -> dict[str, Any]:
    """Fill the situation's `null` values (what is asked) as OpenFisca's Web API `/calculate` does — one
    simulation for everything the situation holds, each asked variable calculated once for all its entities."""
    from openfisca_core.simulation_builder import SimulationBuilder

    system = tax_benefit_system()
    simulation = SimulationBuilder().build_from_entities(system, copy.deepcopy(situation))
    result = copy.deepcopy(situation)
    computed: dict[tuple[str, str], Any] = {}
    for plural, instances in result.items():
        population = simulation.get_population(plural)
        for instance_id, variables in instances.items():
            index = population.get_index(instance_id)
            for name, by_period in variables.items():
                if not isinstance(by_period, dict):
                    continue
                for period, value in by_period.items():
                    if value is None:
                        if (name, period) not in computed:
                            computed[(name, period)] = simulation.calculate(name, period)
                        item = computed[(name, period)][index]
                        by_period[period] = item.item() if hasattr(item, "item") else item
    return result
