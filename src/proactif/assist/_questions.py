"""Progressive profiling: one more useful question at a time, for a visitor who accepted personalisation.

Each question says beside it what the answer is for (`purpose`); each answer is kept in `Profile.answers` as
{"value", "consent", "at"}, `consent` naming the version of the questions' texts it was given under
(`VERSION`, the texts are in docs/assist-segments.md). The next question is the first one not yet answered nor
passed whose condition holds (children's ages only after « avec enfants »). Interests chosen here are explicit
choices (`Profile.chosen`), the only way a sensitive theme (santé, handicap) enters a profile.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from proactif.assist import _interests
from proactif.assist.models import Profile, Theme
from proactif.kernel import clock

VERSION = "questions-2026-12"
INTERESTS = "centres_interet"


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    purpose: str
    choices: tuple[tuple[str, str], ...]  # (value, label); for INTERESTS the site's themes
    multiple: bool = False
    when: Callable[[Mapping[str, Any]], bool] = lambda answers: True


def _value(answers: Mapping[str, Any], key: str) -> Any:
    answer = answers.get(key)
    return answer.get("value") if isinstance(answer, Mapping) else None


QUESTIONS: tuple[Question, ...] = (
    Question("foyer", "Votre foyer, c'est…",
             "Pour mettre en avant les démarches et les services qui correspondent à votre foyer.",
             (("seul", "une personne seule"), ("couple", "un couple, sans enfant à la maison"),
              ("avec_enfants", "un foyer avec un ou plusieurs enfants"),
              ("colocation", "une colocation ou une famille élargie"))),
    Question("enfants_ages", "Quel âge ont vos enfants ?",
             "Pour vous montrer d'abord la crèche, l'école, le périscolaire ou les activités qui correspondent à "
             "leur âge.",
             (("0-3", "moins de 3 ans"), ("3-6", "de 3 à 6 ans"), ("6-11", "de 6 à 11 ans"),
              ("11-18", "de 11 à 18 ans")), multiple=True,
             when=lambda answers: _value(answers, "foyer") == "avec_enfants"),
    Question(INTERESTS, "Quels thèmes vous intéressent ?",
             "Pour ordonner l'accueil selon les thèmes que vous choisissez. Les thèmes « Santé » et « Handicap » "
             "ne sont jamais déduits de votre navigation : seul ce choix les fait apparaître.",
             (), multiple=True),
    Question("nouvel_habitant", "Êtes-vous arrivé dans la commune depuis moins d'un an ?",
             "Pour vous présenter les démarches d'installation et les services de la ville.",
             (("oui", "oui"), ("non", "non"))),
    Question("entreprise", "Dirigez-vous une entreprise, un commerce ou une activité indépendante ?",
             "Pour vous signaler les démarches, aides et informations destinées aux professionnels.",
             (("oui", "oui"), ("non", "non"))),
)
BY_KEY = {q.key: q for q in QUESTIONS}


class AnswerError(ValueError):
    """An answer we cannot keep, in French."""


def choices(question: Question) -> tuple[tuple[str, str], ...]:
    if question.key == INTERESTS:
        return tuple(Theme.objects.values_list("slug", "name"))
    return question.choices


def values() -> dict[str, tuple[str, ...]]:
    """Each question's possible values (what a segment's « reponse » condition may name)."""
    return {q.key: tuple(v for v, _ in choices(q)) for q in QUESTIONS}


def next_question(answers: Mapping[str, Any], passed: Collection[str] = ()) -> Question | None:
    for question in QUESTIONS:
        if question.key in answers or question.key in passed or not question.when(answers):
            continue
        return question
    return None


def answer(profile: Profile, key: str, given: list[str]) -> dict[str, Any]:
    """Keep one answer with its consent version; the interests question also sets the chosen themes."""
    question = BY_KEY.get(key)
    if question is None:
        raise AnswerError("Cette question n'existe pas.")
    allowed = {v for v, _ in choices(question)}
    given = list(dict.fromkeys(v for v in given if v))
    if not given:
        raise AnswerError("Choisissez une réponse, ou passez la question.")
    if any(v not in allowed for v in given):
        raise AnswerError("Cette réponse ne fait pas partie des choix proposés.")
    if not question.multiple and len(given) > 1:
        raise AnswerError("Une seule réponse est possible.")
    if not question.when(profile.answers):
        raise AnswerError("Cette question ne vous concerne pas d'après vos réponses précédentes.")
    kept = {"value": given if question.multiple else given[0], "consent": VERSION, "at": clock.now().isoformat()}
    with transaction.atomic():
        row = Profile.objects.select_for_update().get(pk=profile.pk)
        row.answers = {**row.answers, key: kept}
        if key == INTERESTS:
            row.chosen = {**row.chosen, **{slug: True for slug in given}}
        if key == "foyer" and given[0] != "avec_enfants":  # an earlier « avec enfants » answer's ages go with it
            row.answers.pop("enfants_ages", None)
        row.save(update_fields=["answers", "chosen"])
    profile.answers, profile.chosen = row.answers, row.chosen
    return kept


def forget(profile: Profile) -> int:
    """Every answer removed, and the themes chosen through the interests question: how many answers were kept."""
    with transaction.atomic():
        row = Profile.objects.select_for_update().get(pk=profile.pk)
        count = len(row.answers)
        chosen_here = _value(row.answers, INTERESTS) or []
        row.chosen = {t: v for t, v in row.chosen.items() if t not in chosen_here}
        row.answers = {}
        row.save(update_fields=["answers", "chosen"])
    profile.answers, profile.chosen = row.answers, row.chosen
    return count


def summary(profile: Profile) -> list[dict[str, Any]]:
    """The visitor's answers as they read them."""
    out = []
    for question in QUESTIONS:
        kept = profile.answers.get(question.key)
        if not isinstance(kept, Mapping):
            continue
        labels = dict(choices(question))
        value = kept.get("value")
        given = value if isinstance(value, list) else [value]
        out.append({"question": question.label, "answer": ", ".join(labels.get(str(v), str(v)) for v in given),
                    "sensitive": question.key == INTERESTS and bool(set(given) & _interests.SENSITIVE)})
    return out
