"""Screening: the households of the commune computed with OpenFisca-France by chunks — one vectorised
simulation per chunk of households, never one per household — and the detections: eligible ∧ not receiving
∧ amount ≥ a floor ∧ stable over two months ∧ not opposed to being informed of their rights ∧ computed from
the amounts the benefit reads (`domain.UNRELIABLE`: an ASPA over a pension known only in net is not one).

A chunk's simulation is built from the very situations `proactif rights situation` prints, merged (their ids
are unique across households), so a household's amounts are the same computed alone or in its chunk. A
household whose situation (hash) and model version are those of a kept result is not computed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from proactif.registry import services as registry
from proactif.rights import _local_aids as local_aids
from proactif.rights import _openfisca as openfisca
from proactif.rights import domain

CHUNK = 10_000  # households per simulation
UNPRICED = {"css_gratuite"}  # free C2S: a coverage, not an amount (OpenFisca's `cmu_c` is a boolean)
FLOOR = 10.0  # euros per month below which a possible right is not worth a message
RECEIVED_AS = domain.RECEIVED_AS


@dataclass(frozen=True)
class Row:
    household_id: int
    benefit: str
    eligible: bool
    receiving: bool
    detected: bool
    amount: float
    previous_amount: float = 0.0
    stable: bool = False
    opposed: bool = False
    confidence: str = ""
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    quartier_id: int | None = None


@dataclass
class ChunkResult:
    rows: list[Row]
    computed: dict[int, tuple[str, dict[str, dict[str, float]], dict[str, Any]]] = field(default_factory=dict)
    cached: int = 0


def merge(situations: Iterable[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, dict[str, Any]] = {"individus": {}, "familles": {}, "foyers_fiscaux": {}, "menages": {}}
    for situation in situations:
        for plural, instances in situation.items():
            merged[plural].update(instances)
    return merged


def input_hash(situation: dict[str, Any]) -> str:
    """The situation's fingerprint (it is built in a fixed order: no key sorting needed)."""
    return hashlib.sha256(json.dumps(situation, default=str, separators=(",", ":")).encode()).hexdigest()


def warm_up(household_ids: list[int], period: str) -> None:
    """Compute a few households once: OpenFisca builds its parameters at each instant the formulas read on
    first use (seconds); worker processes forked afterwards share them instead of each building them."""
    if household_ids:
        months = [domain.month_start(m) for m in domain.input_months(period)]
        compositions = registry.household_compositions(household_ids, months)
        amounts_by_household({h: domain.situation(c, period) for h, c in compositions.items()}, period)


def amounts_by_household(situations: dict[int, dict[str, Any]], period: str) -> dict[int, dict[str, dict[str, float]]]:
    """Every household's monthly amounts for the screened months, from one simulation of them all: each asked
    variable calculated once, then summed per household over its entities (`bincount`)."""
    households = list(situations)
    merged = merge(situations[h] for h in households)
    arrays = openfisca.calculate(merged, domain.asked_for(period))
    owners = {plural: np.fromiter((i for i, h in enumerate(households) for _ in situations[h][plural]),
                                  dtype=np.int64) for plural in merged}
    for plural, owner in owners.items():
        if len(owner) != len(merged[plural]):
            raise ValueError(f"{plural} : une même entité dans deux foyers ({len(owner)} ≠ {len(merged[plural])})")
    out: dict[int, dict[str, dict[str, float]]] = {h: {} for h in households}
    for month in domain.screened_months(period):
        for benefit, (variable, plural, kind) in domain.BENEFITS.items():
            values = arrays[(variable, month if kind == "month" else month[:4])].astype(float)
            if kind == "year":
                values = values / 12
            sums = np.bincount(owners[plural], weights=values, minlength=len(households))
            for i, household in enumerate(households):
                out[household].setdefault(month, {})[benefit] = round(float(sums[i]), 2)
    return out


def screen_chunk(household_ids: list[int], period: str, floor: float = FLOOR,
                 benefits: tuple[str, ...] = tuple(domain.BENEFITS),
                 kept: dict[int, tuple[str, dict[str, dict[str, float]]]] | None = None,
                 aids: dict[str, local_aids.LocalAid] | None = None) -> ChunkResult:
    """Compute and judge a chunk. `kept`: results of earlier runs {household: (input hash, amounts)} — taken
    when the household's situation has the same hash; `aids`: the local aids asked, by their benefit key."""
    months = [domain.month_start(m) for m in domain.input_months(period)]
    compositions = registry.household_compositions(household_ids, months)
    situations = {hid: domain.situation(composition, period) for hid, composition in compositions.items()}
    hashes = {hid: input_hash(s) for hid, s in situations.items()}
    amounts: dict[int, dict[str, dict[str, float]]] = {}
    for hid, (digest, found) in (kept or {}).items():
        if hashes.get(hid) == digest:
            amounts[hid] = found
    result = ChunkResult(rows=[], cached=len(amounts))
    missing = {hid: s for hid, s in situations.items() if hid not in amounts}
    figures = {hid: domain.key_figures(composition, period) for hid, composition in compositions.items()}
    if missing:
        for hid, found in amounts_by_household(missing, period).items():
            amounts[hid] = found
            result.computed[hid] = (hashes[hid], found, figures[hid])
    refused = registry.refused_purpose([m["id"] for c in compositions.values() for m in c["members"]], "droits")
    current, previous = domain.screened_months(period)
    local = [aids[b] for b in benefits if aids and b in aids]
    quartiers = {q.pk: q.code for q in registry.quartiers()} if local else {}
    on = domain.month_start(period)
    for household_id, composition in compositions.items():
        opposed = any(m["id"] in refused for m in composition["members"])
        if local:
            eligible_to = [b for b in domain.BENEFITS if amounts[household_id][current][b] > 0]
            ages = [domain.age(m["date_naissance"], on) for m in composition["members"]]
            facts = local_aids.facts(composition, figures[household_id], eligible_to, ages,
                                     quartiers.get(composition["quartier_id"], ""))
            for aid in local:
                amount, why = aid.evaluate(facts)
                receiving = aid.received_as in facts["recoit"]
                detected = amount > 0 and not receiving and not opposed and amount >= floor
                result.rows.append(Row(household_id, aid.benefit, amount > 0, receiving, detected, amount, amount,
                                       amount > 0, opposed, "moyenne" if amount > 0 else "",
                                       tuple(why), ("quotient_familial_estime",) if amount > 0 else (),
                                       composition["quartier_id"]))
        for benefit in benefits:
            if benefit not in domain.BENEFITS:
                continue
            amount = amounts[household_id][current][benefit]
            before = amounts[household_id][previous][benefit]
            eligible = amount > 0
            receiving = (RECEIVED_AS[benefit] in composition["benefits_receiving"]
                         or RECEIVED_AS[benefit] in composition["benefits_paid"])
            stable = eligible and before > 0
            reasons: tuple[str, ...] = ()
            lacking: tuple[str, ...] = ()
            confidence = ""
            if eligible:
                why, absent, confidence = domain.explain(composition, benefit, amount, before, period,
                                                         figures[household_id])
                reasons, lacking = tuple(why), tuple(absent)
            detected = (eligible and stable and not receiving and not opposed
                        and (amount >= floor or benefit == "css_gratuite") and not domain.UNRELIABLE & set(lacking))
            result.rows.append(Row(household_id, benefit, eligible, receiving, detected, amount, before, stable,
                                   opposed, confidence, reasons, lacking, composition["quartier_id"]))
    return result


def _figures() -> dict[str, float]:
    return {"eligible": 0, "receiving": 0, "detected": 0, "potential_euros_per_month": 0.0}


def summary(rows: Iterable[Row]) -> dict[str, dict[str, float]]:
    """Per benefit: households eligible, receiving, detected, and the detections' euros per month."""
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        figures = out.setdefault(row.benefit, _figures())
        figures["eligible"] += row.eligible
        figures["receiving"] += row.receiving
        figures["detected"] += row.detected
        if row.detected and row.benefit not in UNPRICED:
            figures["potential_euros_per_month"] = round(figures["potential_euros_per_month"] + row.amount, 2)
    return out


def combine(summaries: Iterable[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Chunks' summaries added up into the run's."""
    out: dict[str, dict[str, float]] = {}
    for part in summaries:
        for benefit, figures in part.items():
            into = out.setdefault(benefit, _figures())
            for key, value in figures.items():
                into[key] = round(into[key] + value, 2)
    return out
