"""Segments agents define over the consenting visitors' profiles (`_segment_rules` checks and matches them).

A segment's size is counted over the live profiles (not frozen, not an alias of a merged one): the database first
narrows the candidates with what every member must have (an answer, a chosen theme, a recent creation, enough
events), then each candidate is matched in Python, in batches. A segment under `MIN_SIZE` profiles is never shown
with its size (« moins de 10 profils ») nor used for targeting (`targetable`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q

from proactif.assist import _interests, _questions
from proactif.assist import _segment_rules as rules_
from proactif.assist.models import Profile, ProfileEvent, Segment, Theme
from proactif.kernel import clock

MIN_SIZE = rules_.MIN_SIZE
BATCH = 2000
SIZE_CACHE_SECONDS = 600
MAX_RULES_TEXT = 20_000
DEFAULTS: tuple[tuple[str, str, str, list[dict[str, Any]]], ...] = (
    ("parent-jeune-enfant", "Parent d'un jeune enfant",
     "A dit avoir un enfant de moins de 6 ans, ou lit souvent les pages « Famille et enfance ».",
     [{"ou": [{"reponse": "enfants_ages", "parmi": ["0-3", "3-6"]},
              {"interet": "famille-enfance", "min": 3.0}]}]),
    ("senior", "Senior",
     "A choisi le thème « Seniors » ou lit souvent ses pages.",
     [{"ou": [{"choisi": "seniors"}, {"interet": "seniors", "min": 3.0}]}]),
    ("nouvel-habitant", "Nouvel habitant",
     "A dit être arrivé depuis moins d'un an, ou découvre le site depuis moins de 90 jours en consultant les pages "
     "« Logement » ou « État civil et papiers ».",
     [{"ou": [{"reponse": "nouvel_habitant", "parmi": ["oui"]},
              {"tous": [{"anciennete_max_jours": 90},
                        {"ou": [{"evenements": "page_vue", "theme": "logement", "min": 2, "jours": 60},
                                {"evenements": "page_vue", "theme": "etat-civil-papiers", "min": 2,
                                 "jours": 60}]}]}]}]),
    ("entreprise", "Entreprise",
     "A dit diriger une entreprise, un commerce ou une activité indépendante, ou s'intéresse au thème « Emploi et "
     "entreprises ».",
     [{"ou": [{"reponse": "entreprise", "parmi": ["oui"]}, {"choisi": "emploi-entreprises"},
              {"interet": "emploi-entreprises", "min": 3.0}]}]),
)


def install_segments() -> int:
    """The four default segments, created when missing (agents' changes are kept): how many were created."""
    created = 0
    for slug, name, description, conditions in DEFAULTS:
        _, made = Segment.objects.get_or_create(slug=slug, defaults={
            "name": name, "description": description, "rules": conditions, "updated_at": clock.now(),
            "updated_by": "installation"})
        created += made
    return created


def check(raw: Any) -> list[dict[str, Any]]:
    """The rules as saved, or `_segment_rules.RuleError` in French (themes and answers known on this site)."""
    if isinstance(raw, str):
        if len(raw) > MAX_RULES_TEXT:
            raise rules_.RuleError(f"les règles tiennent en {format_int(MAX_RULES_TEXT)} caractères au plus")
        if raw.count("[") + raw.count("{") > 400:  # deeper than any rule, and Python's parser would overflow
            raise rules_.RuleError("les règles sont trop imbriquées")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise rules_.RuleError(f"les règles ne sont pas du JSON valide (ligne {exc.lineno}, "
                                   f"colonne {exc.colno})") from None
    themes = set(Theme.objects.values_list("slug", flat=True))
    return rules_.check(raw, themes, _questions.values())


@transaction.atomic
def save(slug: str, name: str, description: str, raw_rules: Any, agent: str, segment: Segment | None = None
         ) -> Segment:
    conditions = check(raw_rules)
    segment = segment or Segment(slug=slug)
    segment.name, segment.description, segment.rules = name, description, conditions
    segment.updated_at, segment.updated_by = clock.now(), agent[:150]
    segment.save()
    cache.delete(_cache_key(segment.rules))
    return segment


# --- counting ----------------------------------------------------------------------------------------------------
def _live() -> Any:
    return Profile.objects.filter(frozen=False, merged_into__isnull=True)


def candidates(conditions: Sequence[dict[str, Any]]) -> Any:
    """The live profiles every member is among (SQL: the top-level conditions' necessary parts)."""
    now = clock.now()
    found = rules_.prefilter(conditions)
    query = _live()
    for key in found.answered:
        query = query.filter(answers__has_key=key)
    for theme in found.chosen:
        query = query.filter(chosen__has_key=theme)
    for theme in found.interest:
        query = query.filter(Q(interests__has_key=theme) | Q(chosen__has_key=theme))
    if found.created_after_days is not None:
        query = query.filter(created_at__gte=now - timedelta(days=found.created_after_days))
    for rule in found.events:
        events = ProfileEvent.objects.filter(at__gte=now - timedelta(days=rule["jours"]))
        if rule["evenements"] != "tous":
            events = events.filter(kind=rule["evenements"])
        if rule.get("theme"):
            events = events.filter(theme=rule["theme"])
        enough = events.values("profile_id").annotate(n=Count("id")).filter(n__gte=rule["min"]).values("profile_id")
        query = query.filter(pk__in=enough)
    return query


def members(conditions: Sequence[dict[str, Any]]) -> Iterator[int]:
    """The ids of the live profiles meeting the conditions."""
    now = clock.now()
    half_life = float(settings.INTEREST_HALF_LIFE_DAYS)
    window = rules_.event_window(conditions)
    rows = candidates(conditions).order_by("pk").values_list("pk", "interests", "chosen", "answers", "created_at")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        last = batch[-1][0]
        events: dict[int, list[tuple[str, str, Any]]] = {}
        if window:
            for pid, kind, theme, at in ProfileEvent.objects.filter(
                    profile_id__in=[r[0] for r in batch], at__gte=now - timedelta(days=window)).values_list(
                    "profile_id", "kind", "theme", "at"):
                events.setdefault(pid, []).append((kind, theme, at))
        for pk, interests, chosen, answers, created_at in batch:
            facts = rules_.Facts(now=now, created_at=created_at,
                                 scores=_interests.decayed(interests or {}, now, half_life),
                                 chosen=chosen or {}, answers=answers or {}, events=events.get(pk, ()))
            if rules_.matches(conditions, facts):
                yield pk


def _cache_key(conditions: Any) -> str:
    text = json.dumps(conditions, sort_keys=True, ensure_ascii=True)
    return "assist.segment.taille." + hashlib.sha256(text.encode()).hexdigest()


def size(conditions: Sequence[dict[str, Any]], fresh: bool = False) -> int:
    key = _cache_key(list(conditions))
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return int(cached)
    total = sum(1 for _ in members(conditions))
    cache.set(key, total, SIZE_CACHE_SECONDS)
    return total


@dataclass(frozen=True)
class Preview:
    size: int | None  # None under MIN_SIZE: never shown
    label: str


def preview(conditions: Sequence[dict[str, Any]], fresh: bool = False) -> Preview:
    """What agents see of a segment's size: the count, or « moins de 10 profils »."""
    total = size(conditions, fresh)
    if total < MIN_SIZE:
        return Preview(None, f"moins de {MIN_SIZE} profils")
    return Preview(total, f"{format_int(total)} profil{'s' if total > 1 else ''}")


def format_int(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


def targetable(segment: Segment) -> bool:
    """Whether a segment may be used to target (at least `MIN_SIZE` profiles)."""
    return size(segment.rules) >= MIN_SIZE


def profile_matches(profile: Profile, segment: Segment) -> bool:
    """Whether one profile (read as the profile it is an alias of) is in a segment that may target."""
    for _ in range(8):
        target = profile.merged_into
        if target is None:
            break
        profile = target
    if profile.frozen or not targetable(segment):
        return False
    return profile.pk in set(members_of(profile, segment.rules))


def members_of(profile: Profile, conditions: Sequence[dict[str, Any]]) -> Iterator[int]:
    now = clock.now()
    window = rules_.event_window(conditions)
    events = list(ProfileEvent.objects.filter(profile_id=profile.pk, at__gte=now - timedelta(days=window))
                  .values_list("kind", "theme", "at")) if window else []
    facts = rules_.Facts(now=now, created_at=profile.created_at,
                         scores=_interests.decayed(profile.interests or {}, now,
                                                   float(settings.INTEREST_HALF_LIFE_DAYS)),
                         chosen=profile.chosen or {}, answers=profile.answers or {}, events=events)
    if rules_.matches(conditions, facts):
        yield profile.pk


def segments_of(profile: Profile) -> list[Segment]:
    """The targetable segments a profile is in."""
    return [s for s in Segment.objects.all() if profile_matches(profile, s)]


def listing() -> list[dict[str, Any]]:
    names = dict(Theme.objects.values_list("slug", "name"))
    return [{"segment": s, "conditions": rules_.describe(s.rules, names, {
        q.key: (q.label, dict(q.choices)) for q in _questions.QUESTIONS}), "preview": preview(s.rules),
             "sensitive": rules_.reads_sensitive(s.rules)} for s in Segment.objects.all()]
