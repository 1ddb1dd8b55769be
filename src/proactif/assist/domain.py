"""How the public site orders what it shows: by context (the season, the alerts in progress, the deadlines and
events coming, the page being read), by the interests the visitor chose themselves and — for a visitor who
accepted personalisation and is not in the control group — by the interests their visits showed (decayed, never
`sante` nor `handicap`, `_interests`). Pure functions: no Django, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

# Weights of each reason: an interest the visitor chose outranks any context; an alert in progress outranks
# the season. Deadlines and events count by how close they are.
CHOSEN = 100.0
ALERT = 30.0
VISITED = 20.0
SEASON = 10.0
DEADLINE = 12.0
EVENT = 8.0
NEWS = 6.0
POPULAR = 3.0
# An inferred interest rises towards INTEREST as it grows: half of it at INTEREST_HALF (about two page views),
# so a few visits on a theme outrank the season and the agenda, and only a chosen theme outranks a strong one.
INTEREST = 40.0
INTEREST_HALF = 2.0
DEADLINE_HORIZON = 45  # days before a deadline when its page starts to rise
EVENT_HORIZON = 21
NEWS_HORIZON = 30


@dataclass(frozen=True)
class Context:
    today: date
    alert_themes: frozenset[str] = frozenset()
    visited_themes: tuple[str, ...] = ()
    chosen_themes: frozenset[str] = frozenset()
    interests: Mapping[str, float] = field(default_factory=dict)  # inferred, theme → score (`_interests`)
    set_aside: frozenset[str] = frozenset()  # themes the visitor said they do not want first


def interest_weight(score: float) -> float:
    """What an inferred interest adds to a theme: 0 for none, rising towards `INTEREST`."""
    if score <= 0:
        return 0.0
    return INTEREST * score / (score + INTEREST_HALF)


@dataclass(frozen=True)
class ThemeFacts:
    slug: str
    position: int
    months: tuple[int, ...] = ()
    deadlines: tuple[date, ...] = ()  # of the theme's démarches
    events: tuple[date, ...] = ()  # first days of the theme's events


@dataclass(frozen=True)
class PageFacts:
    page_id: int
    kind: str  # demarche | actualite | evenement
    themes: tuple[str, ...]
    position: int = 0  # the default order (the section's order)
    day: date | None = None  # publication (actualité) or first day (événement)
    ends: date | None = None
    deadline: date | None = None
    months: tuple[int, ...] = ()
    views: int = 0  # the anonymous audience count of the last 30 days


@dataclass(frozen=True)
class Ranked:
    key: str | int
    score: float
    reasons: tuple[str, ...] = field(default=())


def _closeness(days: int, horizon: int) -> float:
    """1 on the day, falling linearly to 0 at `horizon` days; 0 when past."""
    if days < 0 or days > horizon:
        return 0.0
    return 1.0 - days / horizon


def rank_themes(themes: Iterable[ThemeFacts], context: Context) -> list[Ranked]:
    ranked = []
    for theme in themes:
        score, reasons = 0.0, []
        if theme.slug in context.chosen_themes:
            score += CHOSEN
            reasons.append("choisi")
        elif theme.slug in context.set_aside:
            score -= CHOSEN
        elif weight := interest_weight(context.interests.get(theme.slug, 0.0)):
            score += weight
            reasons.append("intérêt")
        if theme.slug in context.alert_themes:
            score += ALERT
            reasons.append("alerte")
        if theme.slug in context.visited_themes:
            score += VISITED
            reasons.append("page consultée")
        if context.today.month in theme.months:
            score += SEASON
            reasons.append("saison")
        soon = sum(_closeness((d - context.today).days, DEADLINE_HORIZON) for d in theme.deadlines)
        coming = sum(_closeness((d - context.today).days, EVENT_HORIZON) for d in theme.events)
        if soon:
            score += DEADLINE * min(soon, 2.0)
            reasons.append("échéance")
        if coming:
            score += EVENT * min(coming, 2.0)
            reasons.append("agenda")
        ranked.append((score, -theme.position, Ranked(theme.slug, round(score, 3), tuple(reasons))))
    ranked.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [item[2] for item in ranked]


def page_score(page: PageFacts, context: Context) -> Ranked:
    score, reasons = 0.0, []
    themes = set(page.themes)
    if themes & context.chosen_themes:
        score += CHOSEN / 2
        reasons.append("choisi")
    elif themes and themes <= context.set_aside:
        score -= CHOSEN / 2
    elif weight := max((interest_weight(context.interests.get(t, 0.0)) for t in themes - context.set_aside),
                       default=0.0):
        score += weight / 2
        reasons.append("intérêt")
    if themes & context.alert_themes:
        score += ALERT / 2
        reasons.append("alerte")
    if themes & set(context.visited_themes):
        score += VISITED / 2
        reasons.append("page consultée")
    if context.today.month in page.months:
        score += SEASON
        reasons.append("saison")
    if page.deadline is not None and (closeness := _closeness((page.deadline - context.today).days,
                                                              DEADLINE_HORIZON)):
        score += DEADLINE * closeness
        reasons.append("échéance")
    if page.kind == "evenement" and page.day is not None:
        last = page.ends or page.day
        if page.day <= context.today <= last:
            score += EVENT
            reasons.append("agenda")
        elif closeness := _closeness((page.day - context.today).days, EVENT_HORIZON):
            score += EVENT * closeness
            reasons.append("agenda")
    if page.kind == "actualite" and page.day is not None and (
            closeness := _closeness((context.today - page.day).days, NEWS_HORIZON)):
        score += NEWS * closeness
        reasons.append("récent")
    if page.views:
        score += POPULAR * math.log10(1 + page.views)
    return Ranked(page.page_id, round(score, 3), tuple(reasons))


def rank_pages(pages: Sequence[PageFacts], context: Context) -> list[Ranked]:
    """Pages by score, ties in their default order."""
    scored = [(page_score(page, context), page.position) for page in pages]
    scored.sort(key=lambda item: (-item[0].score, item[1]))
    return [ranked for ranked, _ in scored]


def is_current(page: PageFacts, today: date) -> bool:
    """Whether a page still belongs on the home: an event not over, a news item of the last 60 days."""
    if page.kind == "evenement" and page.day is not None:
        return (page.ends or page.day) >= today
    if page.kind == "actualite" and page.day is not None:
        return 0 <= (today - page.day).days <= 60
    return True
