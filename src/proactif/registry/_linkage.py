"""Probabilistic record linkage (Fellegi–Sunter) to suggest probable duplicates.

Records are compared only within blocks (same birth date and initial, same name stem and birth
year, same e-mail, phone or NIR), so the work grows with the number of people, not its square.
Each field comparison adds log2(m/u) when it agrees and log2((1-m)/(1-u)) when it disagrees;
the total weight turns into a match probability with a prior. Pure functions: no Django, no I/O.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz.distance import JaroWinkler


@dataclass(frozen=True)
class IdentityRecord:
    id: int
    nom_cle: str
    usage_cle: str
    prenoms_cle: str
    sexe: str
    date_naissance: date | None
    code_insee_naissance: str = ""
    nir: str | None = None
    emails: frozenset[str] = field(default_factory=frozenset)
    phones: frozenset[str] = field(default_factory=frozenset)
    address_id: int | None = None

    @property
    def prenom(self) -> str:
        return self.prenoms_cle.split(" ")[0] if self.prenoms_cle else ""


@dataclass(frozen=True)
class MatchResult:
    a: int
    b: int
    weight: float
    probability: float
    reasons: tuple[str, ...]


# m: P(agree | same person), u: P(agree | different people) — set from French civil-registry
# frequencies and typical keying errors.
# Two records of one person almost always share a name and a first name: the remainders (1 % and 0.5 %)
# make a disagreement strong evidence — same surname and birth date with another first name are twins.
M_U = {
    "nom_exact": (0.88, 0.003), "nom_close": (0.11, 0.01),
    "prenom_exact": (0.93, 0.01), "prenom_close": (0.065, 0.02),
    # one wrong component: same year and month (1/960), same day and month (1/365)…
    "date_exact": (0.93, 0.00005), "date_close": (0.05, 0.004),
    "sexe": (0.98, 0.5), "lieu": (0.90, 0.1),  # births concentrate in a few large communes
    "email": (0.50, 0.0005), "phone": (0.50, 0.0005), "address": (0.70, 0.0005),
}
PRIOR = 1e-4


def _agree(name: str) -> float:
    m, u = M_U[name]
    return math.log2(m / u)


def _disagree(names: Iterable[str]) -> float:
    m = sum(M_U[n][0] for n in names)
    u = sum(M_U[n][1] for n in names)
    return math.log2((1 - m) / (1 - u))


def _close_dates(a: date, b: date) -> bool:
    """One keying error: day/month swapped, or exactly one of day, month, year differs."""
    if (a.day, a.month) == (b.month, b.day) and a.year == b.year:
        return True
    differences = (a.day != b.day) + (a.month != b.month) + (a.year != b.year)
    return differences == 1


def compare(x: IdentityRecord, y: IdentityRecord) -> MatchResult:
    weight = 0.0
    reasons: list[str] = []
    if x.nir and y.nir:
        if x.nir == y.nir:
            weight += 20
            reasons.append("même NIR")
        else:
            weight -= 20
            reasons.append("NIR différents")
    names_x = {n for n in (x.nom_cle, x.usage_cle) if n}
    names_y = {n for n in (y.nom_cle, y.usage_cle) if n}
    if names_x & names_y:
        weight += _agree("nom_exact")
        reasons.append("nom identique")
    else:
        best = max((JaroWinkler.normalized_similarity(a, b) for a in names_x for b in names_y), default=0.0)
        if best >= 0.9:
            weight += _agree("nom_close")
            reasons.append(f"nom proche ({best:.2f})")
        else:
            weight += _disagree(["nom_exact", "nom_close"])
    if x.prenom and x.prenom == y.prenom:
        weight += _agree("prenom_exact")
        reasons.append("prénom identique")
    else:
        similarity = JaroWinkler.normalized_similarity(x.prenom, y.prenom)
        if similarity >= 0.88:
            weight += _agree("prenom_close")
            reasons.append(f"prénom proche ({similarity:.2f})")
        else:
            weight += _disagree(["prenom_exact", "prenom_close"])
    if x.date_naissance and y.date_naissance:
        if x.date_naissance == y.date_naissance:
            weight += _agree("date_exact")
            reasons.append("date de naissance identique")
        elif _close_dates(x.date_naissance, y.date_naissance):
            weight += _agree("date_close")
            reasons.append("date de naissance proche (une erreur de saisie)")
        else:
            weight += _disagree(["date_exact", "date_close"])
    weight += _agree("sexe") if x.sexe == y.sexe else _disagree(["sexe"])
    if x.code_insee_naissance and y.code_insee_naissance:
        if x.code_insee_naissance == y.code_insee_naissance:
            weight += _agree("lieu")
            reasons.append("même lieu de naissance")
        else:
            weight += _disagree(["lieu"])
    if x.emails & y.emails:
        weight += _agree("email")
        reasons.append("même e-mail")
    if x.phones & y.phones:
        weight += _agree("phone")
        reasons.append("même téléphone")
    if x.address_id and x.address_id == y.address_id:
        weight += _agree("address")
        reasons.append("même adresse")
    odds = PRIOR / (1 - PRIOR) * 2.0 ** min(weight, 200)
    a, b = sorted((x.id, y.id))
    return MatchResult(a, b, weight, odds / (1 + odds), tuple(reasons))


def names_agree(x: IdentityRecord, y: IdentityRecord) -> bool:
    """Same person by name: a surname (birth or usage) equal or close (one keying error), and the first first
    name equal or close. What an importer asks before taking a shared phone or e-mail and birth date for the
    same person: a family phone and twins' birth date are shared too ("Durand Marc" is not "Lefevre Luc")."""
    names_x = {n for n in (x.nom_cle, x.usage_cle) if n}
    names_y = {n for n in (y.nom_cle, y.usage_cle) if n}
    surname = bool(names_x & names_y) or max(
        (JaroWinkler.normalized_similarity(a, b) for a in names_x for b in names_y), default=0.0) >= 0.9
    return surname and bool(x.prenom) and (
        x.prenom == y.prenom or JaroWinkler.normalized_similarity(x.prenom, y.prenom) >= 0.88)


def blocking_keys(r: IdentityRecord) -> Iterator[tuple[str, ...]]:
    if r.date_naissance:
        yield ("d", r.date_naissance.isoformat(), r.nom_cle[:1])
        if r.usage_cle:
            yield ("d", r.date_naissance.isoformat(), r.usage_cle[:1])
        yield ("n", r.nom_cle[:4], r.prenom[:2], str(r.date_naissance.year))
    for email in r.emails:
        yield ("e", email)
    for phone in r.phones:
        yield ("p", phone)
    if r.nir:
        yield ("nir", r.nir[:13])


def candidate_pairs(records: Iterable[IdentityRecord], max_block: int = 40) -> tuple[set[tuple[int, int]], int]:
    """Pairs of ids sharing a block; blocks larger than `max_block` (a family e-mail shared by
    many, a very common name) are skipped and counted."""
    blocks: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for record in records:
        for key in set(blocking_keys(record)):
            blocks[key].append(record.id)
    pairs: set[tuple[int, int]] = set()
    skipped = 0
    for ids in blocks.values():
        if len(ids) < 2:
            continue
        if len(ids) > max_block:
            skipped += 1
            continue
        ordered = sorted(ids)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                pairs.add((a, b))
    return pairs, skipped


def find_matches(records: list[IdentityRecord], threshold: float = 0.5,
                 exclude: set[tuple[int, int]] | None = None) -> tuple[list[MatchResult], dict[str, int]]:
    by_id = {r.id: r for r in records}
    pairs, skipped = candidate_pairs(records)
    exclude = exclude or set()
    matches = []
    for a, b in pairs:
        if (a, b) in exclude:
            continue
        result = compare(by_id[a], by_id[b])
        if result.probability >= threshold:
            matches.append(result)
    matches.sort(key=lambda m: -m.weight)
    return matches, {"records": len(records), "pairs_compared": len(pairs), "blocks_skipped": skipped,
                     "matches": len(matches)}
