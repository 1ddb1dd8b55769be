"""Screening: the households of the commune computed with OpenFisca-France by chunks — one simulation per chunk
of households, never one per household — and the detections: eligible ∧ not receiving ∧ amount ≥ a floor ∧
not opposed to being informed of their rights.

A chunk's situations are the very situations `proactif rights situation` prints, merged into one (their ids
are unique across households), so a household's amounts are the same computed alone or in its chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from proactif.registry import services as registry
from proactif.rights import domain, openfisca

CHUNK = 2000  # households per simulation
FLOOR = 10.0  # euros per month below which a possible right is not worth a message
RECEIVED_AS = {"rsa": "rsa", "prime_activite": "prime_activite", "css_gratuite": "css", "css_participation": "css",
               "aide_logement": "aide_logement", "aspa": "aspa", "aah": "aah", "cheque_energie": "cheque_energie"}


@dataclass(frozen=True)
class Row:
    household_id: int
    benefit: str
    eligible: bool
    receiving: bool
    detected: bool
    amount: float


def merge(situations: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, dict[str, Any]] = {"individus": {}, "familles": {}, "foyers_fiscaux": {}, "menages": {}}
    for situation in situations:
        for plural, instances in situation.items():
            merged[plural].update(instances)
    return merged


def _view(result: dict[str, Any], situation: dict[str, Any]) -> dict[str, Any]:
    return {plural: {name: result[plural][name] for name in instances} for plural, instances in situation.items()}


def screen_chunk(household_ids: list[int], period: str, floor: float = FLOOR,
                 benefits: tuple[str, ...] = tuple(domain.BENEFITS)) -> list[Row]:
    months = [domain.month_start(m) for m in (period, *domain.previous_months(period))]
    compositions = registry.household_compositions(household_ids, months)
    situations = {hid: domain.situation(composition, period) for hid, composition in compositions.items()}
    result = openfisca.compute(merge(list(situations.values())))
    refused = registry.refused_purpose([m["id"] for c in compositions.values() for m in c["members"]], "droits")
    rows = []
    for household_id, situation in situations.items():
        amounts = domain.amounts(_view(result, situation), period)
        composition = compositions[household_id]
        opposed = any(m["id"] in refused for m in composition["members"])
        for benefit in benefits:
            amount = amounts[benefit]
            eligible = amount > 0
            receiving = (RECEIVED_AS[benefit] in composition["benefits_receiving"]
                         or RECEIVED_AS[benefit] in composition["benefits_paid"])
            detected = eligible and not receiving and (amount >= floor or benefit == "css_gratuite") and not opposed
            rows.append(Row(household_id, benefit, eligible, receiving, detected, amount))
    return rows


def screen(period: str, *, chunk: int = CHUNK, floor: float = FLOOR, benefits: tuple[str, ...] | None = None,
           progress: Callable[[int], None] | None = None) -> Iterator[Row]:
    chosen = benefits or tuple(domain.BENEFITS)
    for household_ids in registry.household_ids_in_chunks(chunk):
        yield from screen_chunk(household_ids, period, floor, chosen)
        if progress:
            progress(len(household_ids))


def summary(rows: list[Row]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        figures = out.setdefault(row.benefit, {"eligible": 0, "receiving": 0, "detected": 0,
                                               "potential_euros_per_month": 0.0})
        figures["eligible"] += row.eligible
        figures["receiving"] += row.receiving
        figures["detected"] += row.detected
        if row.detected:
            figures["potential_euros_per_month"] = round(figures["potential_euros_per_month"] + row.amount, 2)
    return out
