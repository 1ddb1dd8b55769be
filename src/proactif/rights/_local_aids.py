"""Local aids as declarative YAML rules — who is concerned (conditions on the household's figures) and how
much (a fixed amount or brackets of a figure, possibly per child) — checked with every problem listed, and
evaluated beside OpenFisca's benefits in a screening."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SHIPPED = Path(__file__).parent / "aids"
PREFIX = "local:"
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b, "contains": lambda a, b: b in a}
# The figures a rule may test, with what they are
FIELDS = {
    "personnes": "nombre de personnes du foyer", "adultes": "nombre d'adultes", "enfants": "nombre d'enfants",
    "enfants_0_2": "enfants de moins de 3 ans", "enfants_3_11": "enfants de 3 à 11 ans",
    "enfants_12_17": "enfants de 12 à 17 ans", "age_max": "âge de la personne la plus âgée",
    "age_min": "âge de la personne la plus jeune", "taux_incapacite_max": "taux d'incapacité le plus élevé (%)",
    "ressources_total": "ressources mensuelles du foyer (moyenne du trimestre)",
    "quotient_familial": "quotient familial estimé (ressources mensuelles et prestations / parts CAF)",
    "statut_occupation": "statut d'occupation du logement", "loyer": "loyer mensuel",
    "commune": "code Insee de la commune", "quartier": "code du quartier",
    "recoit": "prestations déjà perçues (liste)", "eligible": "prestations calculées éligibles (liste)"}
NUMERIC = {"personnes", "adultes", "enfants", "enfants_0_2", "enfants_3_11", "enfants_12_17", "age_max", "age_min",
           "taux_incapacite_max", "ressources_total", "quotient_familial", "loyer"}


class AidError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any

    def holds(self, facts: dict[str, Any]) -> bool:
        value = facts.get(self.field)
        if value is None:
            return False
        try:
            return bool(OPERATORS[self.op](value, self.value))
        except TypeError:
            return False


@dataclass(frozen=True)
class LocalAid:
    key: str
    name: str
    description: str
    conditions: tuple[Condition, ...]
    fixed: float | None
    bracket_field: str
    steps: tuple[tuple[float, float], ...]
    per: str
    received_as: str

    @property
    def benefit(self) -> str:
        return PREFIX + self.key

    def amount(self, facts: dict[str, Any]) -> float:
        """Monthly amount for a household the conditions hold for."""
        if self.fixed is not None:
            base = self.fixed
        else:
            value = facts.get(self.bracket_field)
            base = next((amount for up_to, amount in self.steps if value is not None and value <= up_to), 0.0)
        return round(base * (facts.get(self.per) or 0 if self.per else 1), 2)

    def evaluate(self, facts: dict[str, Any]) -> tuple[float, list[str]]:
        """The monthly amount (0: not eligible) and the conditions met, as reasons."""
        if not all(c.holds(facts) for c in self.conditions):
            return 0.0, []
        return self.amount(facts), [f"{FIELDS[c.field]} {c.op} {c.value}" for c in self.conditions]


def _number(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where} : nombre attendu, « {value} » lu")
        return 0.0
    return float(value)


def parse(source: str, origin: str = "règle") -> LocalAid:
    """A rule from its YAML text; every problem is listed in the error."""
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise AidError([f"{origin} : YAML illisible ({exc})"]) from None
    if not isinstance(raw, dict):
        raise AidError([f"{origin} : une règle est un dictionnaire (key, name, conditions, amount)"])
    problems: list[str] = []
    for required in ("key", "name", "conditions", "amount"):
        if required not in raw:
            problems.append(f"{origin} : « {required} » manquant")
    key = str(raw.get("key", ""))
    if key and (not key.replace("_", "").isalnum() or len(PREFIX + key) > 30):
        problems.append(f"{origin} : clé « {key} » : lettres, chiffres et _ seulement, 24 caractères au plus")
    conditions = []
    for n, item in enumerate(raw.get("conditions") or [], start=1):
        where = f"{origin} : condition {n}"
        if not isinstance(item, dict) or set(item) != {"field", "op", "value"}:
            problems.append(f"{where} : field, op et value attendus")
            continue
        if item["field"] not in FIELDS:
            problems.append(f"{where} : champ inconnu « {item['field']} » ({', '.join(FIELDS)})")
        if item["op"] not in OPERATORS:
            problems.append(f"{where} : opérateur inconnu « {item['op']} » ({', '.join(OPERATORS)})")
        if item["field"] in NUMERIC and item["op"] in ("<", "<=", ">", ">="):
            _number(item["value"], where, problems)
        conditions.append(Condition(str(item["field"]), str(item["op"]), item["value"]))
    if "conditions" in raw and not conditions and not problems:
        problems.append(f"{origin} : au moins une condition")
    amount = raw.get("amount")
    fixed, field, steps, per = None, "", [], ""
    if isinstance(amount, (int, float)) and not isinstance(amount, bool):
        fixed = float(amount)
    elif isinstance(amount, dict):
        per = str(amount.get("per") or "")
        if per and per not in NUMERIC:
            problems.append(f"{origin} : montant « per » : champ numérique attendu ({', '.join(sorted(NUMERIC))})")
        if "fixed" in amount:
            fixed = _number(amount["fixed"], f"{origin} : montant", problems)
        brackets = amount.get("brackets")
        if isinstance(brackets, dict):
            field = str(brackets.get("field", ""))
            if field not in NUMERIC:
                problems.append(f"{origin} : tranches : champ numérique attendu, « {field} » lu")
            for n, step in enumerate(brackets.get("steps") or [], start=1):
                if not isinstance(step, dict) or set(step) != {"up_to", "amount"}:
                    problems.append(f"{origin} : tranche {n} : up_to et amount attendus")
                    continue
                steps.append((_number(step["up_to"], f"{origin} : tranche {n}", problems),
                              _number(step["amount"], f"{origin} : tranche {n}", problems)))
            if [s[0] for s in steps] != sorted(s[0] for s in steps):
                problems.append(f"{origin} : tranches : up_to croissants attendus")
            if not steps:
                problems.append(f"{origin} : tranches : au moins une tranche")
        if fixed is None and not steps:
            problems.append(f"{origin} : montant : « fixed » ou « brackets » attendu")
    elif amount is not None:
        problems.append(f"{origin} : montant : un nombre ou un dictionnaire attendu")
    if problems:
        raise AidError(problems)
    return LocalAid(key, str(raw["name"]), str(raw.get("description", "")).strip(), tuple(conditions), fixed,
                    field, tuple(steps), per, str(raw.get("received_as", key)))


def load_folder(folder: Path) -> list[LocalAid]:
    aids, problems = [], []
    for path in sorted(folder.glob("*.yaml")):
        try:
            aids.append(parse(path.read_text(encoding="utf-8"), path.name))
        except AidError as exc:
            problems += exc.problems
    keys = [a.key for a in aids]
    problems += [f"clé « {k} » en double" for k in sorted({k for k in keys if keys.count(k) > 1})]
    if problems:
        raise AidError(problems)
    return aids


def quotient_familial(figures: dict[str, Any], received: dict[str, float]) -> float:
    """The CAF's quotient familial, estimated: monthly resources and benefits received over its parts (two for
    a couple or a single parent, one alone; half a part for each of the first two children, one from the
    third)."""
    children, adults = figures["enfants"], figures["adultes"]
    parts = (2 if adults >= 2 or children else 1) + 0.5 * min(children, 2) + max(children - 2, 0)
    return round((figures["ressources_total"] + sum(received.values())) / parts, 2)


def facts(composition: dict[str, Any], figures: dict[str, Any], eligible: list[str], ages: list[int | None],
          quartier: str) -> dict[str, Any]:
    received = {k: float(v.get("monthly_amount", 0)) for k, v in composition["benefits_receiving"].items()}
    children = [a for a in ages if a is not None and a < 18]
    known = [a for a in ages if a is not None]
    return {**{k: figures[k] for k in ("personnes", "adultes", "enfants", "age_max", "taux_incapacite_max",
                                       "ressources_total", "statut_occupation", "loyer")},
            "enfants_0_2": sum(1 for a in children if a < 3), "enfants_3_11": sum(1 for a in children if 3 <= a <= 11),
            "enfants_12_17": sum(1 for a in children if a >= 12), "age_min": min(known, default=None),
            "quotient_familial": quotient_familial(figures, received), "commune": composition["depcom"],
            "quartier": quartier, "recoit": sorted(set(composition["benefits_receiving"])
                                                   | set(composition["benefits_paid"])),
            "eligible": eligible}
