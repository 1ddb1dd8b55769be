"""Segments, pure: the conditions agents write over a profile and its events, their checking (French messages
for the form) and their matching. No Django, no I/O.

A segment's `rules` is a list of conditions, all met:

- `{"interet": <theme>, "min": <score>}` — the theme's decayed inferred interest is at least `min` (1.0 when
  omitted), or the visitor chose the theme. For a sensitive theme (`_interests.SENSITIVE`: santé, handicap) only the
  visitor's explicit choice counts: nothing inferred is ever read.
- `{"choisi": <theme>}` — the visitor chose the theme themself.
- `{"reponse": <question>, "parmi": [<values>]}` — the visitor answered the question with one of the values (any
  answer when `parmi` is omitted); a question with several answers matches when one of them is listed.
- `{"evenements": <kind or "tous">, "theme": <theme>?, "min": <count>, "jours": <days>}` — at least `min` events of
  that kind (on that theme) in the last `jours` days. A sensitive theme cannot be counted this way.
- `{"anciennete_max_jours": <days>}` — the profile was created at most that many days ago.
- `{"ou": [<conditions>]}` — one of the conditions is met (each may itself be `{"tous": [...]}`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from proactif.assist._interests import KINDS, SENSITIVE

MIN_SIZE = 10  # a segment smaller than this is neither shown with its size nor used for targeting
MAX_DAYS = 3650
MAX_COUNT = 10_000
MAX_SCORE = 1_000_000.0
MAX_DEPTH = 4
MAX_CONDITIONS = 20
EVENT_KINDS = (*KINDS, "tous")
SLUG = re.compile(r"(?!nouveau\Z)(?=.{1,60}\Z)[a-z0-9]+(?:-[a-z0-9]+)*")  # « nouveau » is the form's address
Condition = dict[str, Any]


@dataclass(frozen=True)
class Facts:
    """What a profile offers to the rules: its decayed inferred interests (sensitive ones never there), its
    choices, its answers (question → value), its recent events (kind, theme, when), its creation."""

    now: datetime
    created_at: datetime
    scores: Mapping[str, float] = field(default_factory=dict)
    chosen: Mapping[str, bool] = field(default_factory=dict)
    answers: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[tuple[str, str, datetime]] = ()


class RuleError(ValueError):
    """A condition agents cannot save, with the reason in French."""


# --- checking --------------------------------------------------------------------------------------------------
def check(rules: Any, themes: Collection[str], questions: Mapping[str, Collection[str]]) -> list[Condition]:
    """`rules` as saved (numbers as numbers), or RuleError naming the first wrong condition (« condition 2 : … »).
    `themes` are the site's theme slugs, `questions` each question's possible values."""
    if not isinstance(rules, list) or not rules:
        raise RuleError("les règles sont une liste d'au moins une condition")
    return _check_list(rules, themes, questions, 1, "")


def _check_list(rules: list[Any], themes: Collection[str], questions: Mapping[str, Collection[str]], depth: int,
                prefix: str) -> list[Condition]:
    if len(rules) > MAX_CONDITIONS:
        raise RuleError(f"{MAX_CONDITIONS} conditions au plus")
    out = []
    for index, rule in enumerate(rules, start=1):
        where = f"{prefix}condition {index}"
        try:
            out.append(_check_one(rule, themes, questions, depth, where))
        except RuleError as exc:
            message = str(exc)
            raise RuleError(message if message.startswith(where) else f"{where} : {message}") from None
    return out


def _check_one(rule: Any, themes: Collection[str], questions: Mapping[str, Collection[str]], depth: int,
               where: str) -> Condition:
    if not isinstance(rule, dict) or not rule:
        raise RuleError("une condition est un objet, par exemple {\"choisi\": \"seniors\"}")
    for nested in ("ou", "tous"):
        if nested in rule:
            if set(rule) != {nested}:
                raise RuleError(f"« {nested} » s'écrit seul, avec sa liste de conditions")
            if depth >= MAX_DEPTH:
                raise RuleError(f"{MAX_DEPTH} niveaux d'imbrication au plus")
            inner = rule[nested]
            if not isinstance(inner, list) or not inner:
                raise RuleError(f"« {nested} » attend une liste d'au moins une condition")
            return {nested: _check_list(inner, themes, questions, depth + 1, f"{where}, ")}
    if "interet" in rule:
        _keys(rule, {"interet", "min"})
        theme = _theme(rule["interet"], themes)
        return {"interet": theme, "min": _number(rule.get("min", 1.0), "min", 0.0, MAX_SCORE)}
    if "choisi" in rule:
        _keys(rule, {"choisi"})
        return {"choisi": _theme(rule["choisi"], themes)}
    if "reponse" in rule:
        _keys(rule, {"reponse", "parmi"})
        key = rule["reponse"]
        if not isinstance(key, str) or key not in questions:
            known = ", ".join(sorted(questions))
            raise RuleError(f"question inconnue « {_short(key)} » (questions : {known})")
        if "parmi" not in rule:
            return {"reponse": key}
        values = rule["parmi"]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise RuleError("« parmi » attend une liste de réponses, par exemple [\"0-3\"]")
        wrong = [v for v in values if v not in questions[key]]
        if wrong:
            raise RuleError(f"réponse inconnue « {_short(wrong[0])} » pour « {key} » "
                            f"(réponses : {', '.join(questions[key])})")
        return {"reponse": key, "parmi": list(dict.fromkeys(values))}
    if "evenements" in rule:
        _keys(rule, {"evenements", "theme", "min", "jours"})
        kind = rule["evenements"]
        if kind not in EVENT_KINDS:
            raise RuleError(f"type d'événement inconnu « {_short(kind)} » (types : {', '.join(EVENT_KINDS)})")
        out: Condition = {"evenements": kind}
        if rule.get("theme") not in (None, ""):
            theme = _theme(rule["theme"], themes)
            if theme in SENSITIVE:
                raise RuleError(f"le thème « {theme} » est sensible : il n'est jamais déduit des pages consultées, "
                                "seul le choix du visiteur compte (condition « choisi »)")
            out["theme"] = theme
        out["min"] = int(_number(rule.get("min", 1), "min", 1, MAX_COUNT, integer=True))
        out["jours"] = int(_number(rule.get("jours", 30), "jours", 1, MAX_DAYS, integer=True))
        return out
    if "anciennete_max_jours" in rule:
        _keys(rule, {"anciennete_max_jours"})
        days = _number(rule["anciennete_max_jours"], "anciennete_max_jours", 0, MAX_DAYS, integer=True)
        return {"anciennete_max_jours": int(days)}
    raise RuleError("condition inconnue : interet, choisi, reponse, evenements, anciennete_max_jours, ou, tous")


def _keys(rule: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(rule) - allowed)
    if extra:
        raise RuleError(f"champ inconnu « {_short(extra[0])} »")


def _theme(value: Any, themes: Collection[str]) -> str:
    if not isinstance(value, str) or value not in themes:
        raise RuleError(f"thème inconnu « {_short(value)} »")
    return value


def _number(value: Any, name: str, low: float, high: float, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RuleError(f"« {name} » doit être un nombre")
    try:
        number = float(str(value).replace(",", ".").strip()) if isinstance(value, str) else float(value)
    except (ValueError, OverflowError):  # an integer too large for a float (10**400) is no threshold either
        raise RuleError(f"« {name} » doit être un nombre, pas « {_short(value)} »") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise RuleError(f"« {name} » doit être compris entre {_fr(low)} et {_fr(high)}")
    if integer and number != int(number):
        raise RuleError(f"« {name} » doit être un nombre entier")
    return number


def _fr(number: float) -> str:
    return f"{number:g}".replace(".", ",")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


# --- what the database can narrow first ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Prefilter:
    """What every matching profile must have, for a first SQL narrowing (each a necessary condition): keys
    present in `answers`, in `chosen`, in `interests` or `chosen`, a creation after a date, events counted."""

    answered: tuple[str, ...] = ()
    chosen: tuple[str, ...] = ()
    interest: tuple[str, ...] = ()
    created_after_days: int | None = None
    events: tuple[Condition, ...] = ()


def prefilter(rules: Sequence[Condition]) -> Prefilter:
    """The top-level conditions the database can check (a condition under « ou » narrows nothing)."""
    answered: list[str] = []
    chosen: list[str] = []
    interest: list[str] = []
    events: list[Condition] = []
    days: int | None = None
    for rule in rules:
        if "reponse" in rule:
            answered.append(rule["reponse"])
        elif "choisi" in rule:
            chosen.append(rule["choisi"])
        elif "interet" in rule:
            (chosen if rule["interet"] in SENSITIVE else interest).append(rule["interet"])
        elif "anciennete_max_jours" in rule:
            days = min(days, rule["anciennete_max_jours"]) if days is not None else rule["anciennete_max_jours"]
        elif "evenements" in rule:
            events.append(rule)
    return Prefilter(tuple(answered), tuple(chosen), tuple(interest), days, tuple(events))


def event_window(rules: Sequence[Condition]) -> int:
    """The longest window (days) any event condition reads, 0 when none: the events to load for matching."""
    longest = 0
    for rule in rules:
        for nested in ("ou", "tous"):
            if nested in rule:
                longest = max(longest, event_window(rule[nested]))
        if "evenements" in rule:
            longest = max(longest, int(rule["jours"]))
    return longest


# --- matching --------------------------------------------------------------------------------------------------
def matches(rules: Sequence[Condition], facts: Facts) -> bool:
    """Whether the profile meets every condition."""
    return all(_one(rule, facts) for rule in rules)


def _one(rule: Condition, facts: Facts) -> bool:
    if "ou" in rule:
        return any(_one(inner, facts) for inner in rule["ou"])
    if "tous" in rule:
        return all(_one(inner, facts) for inner in rule["tous"])
    if "interet" in rule:
        theme = rule["interet"]
        wanted = facts.chosen.get(theme)
        if wanted is not None:
            return bool(wanted)
        if theme in SENSITIVE:  # never inferred: only the visitor's own choice
            return False
        return facts.scores.get(theme, 0.0) >= float(rule.get("min", 1.0))
    if "choisi" in rule:
        return facts.chosen.get(rule["choisi"]) is True
    if "reponse" in rule:
        answer = facts.answers.get(rule["reponse"])
        value = answer.get("value") if isinstance(answer, Mapping) else answer
        if value in (None, "", []):
            return False
        if "parmi" not in rule:
            return True
        given = set(value) if isinstance(value, list) else {value}
        return bool(given & set(rule["parmi"]))
    if "evenements" in rule:
        theme = rule.get("theme")
        if theme in SENSITIVE:
            return False
        since = facts.now - timedelta(days=int(rule["jours"]))
        kind = rule["evenements"]
        count = sum(1 for k, t, at in facts.events
                    if at >= since and (kind == "tous" or k == kind) and (not theme or t == theme))
        return count >= int(rule["min"])
    if "anciennete_max_jours" in rule:
        return facts.now - facts.created_at <= timedelta(days=int(rule["anciennete_max_jours"]))
    return False


def reads_sensitive(rules: Sequence[Condition]) -> list[str]:
    """The sensitive themes a segment names (it then reads only what visitors chose for them)."""
    found: list[str] = []
    for rule in rules:
        for nested in ("ou", "tous"):
            if nested in rule:
                found += reads_sensitive(rule[nested])
        for key in ("interet", "choisi"):
            if rule.get(key) in SENSITIVE:
                found.append(rule[key])
    return sorted(set(found))


EVENT_WORDS = {"tous": "événements", "page_vue": "pages vues", "recherche": "recherches", "clic": "clics",
               "telechargement": "téléchargements", "formulaire": "formulaires envoyés"}


def describe(rules: Sequence[Condition], themes: Mapping[str, str],
             answers: Mapping[str, tuple[str, Mapping[str, str]]] | None = None) -> list[str]:
    """Each condition in French, for the agents' list (`themes`: slug → name; `answers`: question key → (its
    wording, value → label)) — no code shown to an agent."""
    return [_describe(rule, themes, answers or {}) for rule in rules]


def _describe(rule: Condition, themes: Mapping[str, str], answers: Mapping[str, tuple[str, Mapping[str, str]]]
              ) -> str:
    def name(slug: str) -> str:
        return f"« {themes.get(slug, slug)} »"

    if "ou" in rule:
        return "l'une de : " + " ; ".join(_describe(r, themes, answers) for r in rule["ou"])
    if "tous" in rule:
        return "toutes : " + " ; ".join(_describe(r, themes, answers) for r in rule["tous"])
    if "interet" in rule:
        if rule["interet"] in SENSITIVE:
            return f"a choisi le thème {name(rule['interet'])} (thème sensible : jamais déduit)"
        return f"intérêt pour {name(rule['interet'])} d'au moins {_fr(rule['min'])}, ou thème choisi"
    if "choisi" in rule:
        return f"a choisi le thème {name(rule['choisi'])}"
    if "reponse" in rule:
        question, labels = answers.get(rule["reponse"], (rule["reponse"], {}))
        if "parmi" not in rule:
            return f"a répondu à « {question} »"
        chosen = ", ".join(labels.get(value, themes.get(value, value)) for value in rule["parmi"])
        return f"a répondu à « {question} » : {chosen}"
    if "evenements" in rule:
        kind = EVENT_WORDS.get(rule["evenements"], rule["evenements"])
        on = f" sur {name(rule['theme'])}" if rule.get("theme") else ""
        return f"au moins {rule['min']} {kind}{on} en {rule['jours']} jours"
    if "anciennete_max_jours" in rule:
        return f"profil créé il y a {rule['anciennete_max_jours']} jours au plus"
    return "condition inconnue"
