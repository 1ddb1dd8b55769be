"""The OpenFisca-France adapter: one tax-benefit system per process (building it takes seconds); the
calculation of a Web API situation the way OpenFisca's Web API does it (the per-household path,
`compute`), and the same situation as arrays — `declare_person_entity`, `declare_entity`,
`join_with_persons`, one `set_input` per variable and period — for a whole chunk of households at once
(`simulate`, `calculate`): the screening path."""

from __future__ import annotations

import copy
import importlib.metadata
from collections import defaultdict
from functools import cache
from typing import Any

import numpy as np

# Web API group lists → the entity's flattened roles: a list with sub-roles gives them by position
# (the first parent is the `demandeur`, the second the `conjoint`)
GROUPS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "familles": ("famille", {"parents": ("demandeur", "conjoint"), "enfants": ("enfant",)}),
    "foyers_fiscaux": ("foyer_fiscal", {"declarants": ("declarant_principal", "conjoint"),
                                        "personnes_a_charge": ("personne_a_charge",)}),
    "menages": ("menage", {"personne_de_reference": ("personne_de_reference",), "conjoint": ("conjoint",),
                           "enfants": ("enfant",), "autres": ("autre",)}),
}


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


def simulate(situation: dict[str, Any]) -> Any:
    """A Web API situation (one household or many merged) as one vectorised simulation: entities and
    memberships as arrays, each input variable set once per period for every entity that has it — what
    `build_from_entities` does value by value. Asked values (`null`) are not inputs."""
    from openfisca_core import periods
    from openfisca_core.simulation_builder import SimulationBuilder

    system = tax_benefit_system()
    builder = SimulationBuilder()
    builder.create_entities(system)
    persons = list(situation["individus"])
    position = {name: i for i, name in enumerate(persons)}
    builder.declare_person_entity("individu", persons)
    inputs: list[tuple[str, dict[str, Any]]] = [("individus", situation["individus"])]
    for plural, (singular, role_of) in GROUPS.items():
        groups = situation.get(plural, {})
        population = builder.declare_entity(singular, list(groups))
        assignment = np.empty(len(persons), dtype=np.int64)
        roles = np.empty(len(persons), dtype=object)
        assigned = np.zeros(len(persons), dtype=bool)
        for index, members in enumerate(groups.values()):
            for role_list, keys in role_of.items():
                for rank, person in enumerate(members.get(role_list, ())):
                    at = position[person]
                    assignment[at], roles[at], assigned[at] = index, keys[min(rank, len(keys) - 1)], True
        if not assigned.all():
            missing = [persons[i] for i in np.flatnonzero(~assigned)[:3]]
            raise ValueError(f"{plural}: {', '.join(missing)} sans groupe")
        population.ids = np.arange(len(groups))  # join_with_persons indexes groups by their sorted ids
        builder.join_with_persons(population, assignment, roles)
        population.ids = np.array(list(groups))
        inputs.append((plural, groups))
    simulation = builder.build(system)
    for plural, instances in inputs:
        population = simulation.get_population(plural)
        values: dict[tuple[str, str], tuple[list[int], list[Any]]] = defaultdict(lambda: ([], []))
        for index, variables in enumerate(instances.values()):
            for name, by_period in variables.items():
                if not isinstance(by_period, dict):
                    continue  # a role list
                for period, value in by_period.items():
                    if value is not None:
                        at, given = values[(name, period)]
                        at.append(index)
                        given.append(value)
        ordered = sorted(values.items(), key=lambda item: periods.key_period_size(periods.period(item[0][1])))
        for (name, period), (at, given) in ordered:
            variable = system.get_variable(name, check_existence=True)
            array = variable.default_array(population.count)
            array[at] = _as_array(variable, given)
            if variable.end is None or periods.period(period).start.date <= variable.end:
                population.get_holder(name).set_input(periods.period(period), array)
    return simulation


def _as_array(variable: Any, given: list[Any]) -> Any:
    if variable.value_type in (float, int, bool):
        return np.asarray(given, dtype=variable.dtype)
    checked = {value: variable.check_set_value(value) for value in set(given)}  # dates, enums, strings
    return np.array([checked[value] for value in given], dtype=variable.dtype)


def calculate(situation: dict[str, Any], asked: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The asked `(variable, period)` of a situation, each one array over its entity (in the order of the
    situation's instances), from one vectorised simulation."""
    simulation = simulate(situation)
    return {(name, period): simulation.calculate(name, period) for name, period in asked}
