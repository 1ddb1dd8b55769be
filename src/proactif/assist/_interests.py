"""Interests, pure: how a consenting visitor's events become interest per theme, how they fade, how explicit
choices rank above them, which group a profile falls in, and how personalisation's effect is measured.

- **Decay.** An interest is stored as (score, as of); read at `now`, it is `score · 2^(−Δt / half-life)`. Adding
  an event decays the stored score to the event's time first, so the order events arrive in does not matter and
  nothing has to be rewritten nightly.
- **Never inferred.** `sante` and `handicap` say something about health: no event raises them (art. 9 GDPR); a
  visitor may choose them, and a segment needing them reads only the choice.
- **Explicit above inferred.** A theme the visitor chose comes before any inferred one; a theme they set aside
  never comes first.
- **Control group.** `CONTROL_PERCENT` % of profiles, picked by a hash of their key (stable, independent of
  interests), keep the default order: the difference in clicks measures the personalisation.
- **Uplift.** The difference of two click-through rates with Newcombe's hybrid score interval (Newcombe 1998,
  method 10: Wilson intervals of each rate combined), which holds for small counts and rates near 0.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

SENSITIVE = frozenset({"sante", "handicap"})
KINDS = ("page_vue", "recherche", "clic", "telechargement", "formulaire")
WEIGHTS = {"page_vue": 1.0, "recherche": 1.5, "clic": 0.5, "telechargement": 2.0, "formulaire": 3.0}
DEFAULT_HALF_LIFE_DAYS = 30.0
CONTROL_PERCENT = 10
CHOSEN_SCORE = 1000.0  # above any inferred score
FLOOR = 0.01  # a decayed interest below this is forgotten
Stored = Mapping[str, "list[float] | tuple[float, float]"]  # theme → [score, as of (epoch seconds)]


def _factor(seconds: float, half_life_days: float) -> float:
    return float(2.0 ** (-max(seconds, 0.0) / (half_life_days * 86400.0)))


def decayed(stored: Stored, now: datetime, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> dict[str, float]:
    """Each theme's interest at `now` (those faded below `FLOOR` left out)."""
    t = now.timestamp()
    out = {}
    for theme, (score, as_of) in stored.items():
        value = score * _factor(t - as_of, half_life_days)
        if value >= FLOOR and theme not in SENSITIVE:
            out[theme] = value
    return out


def add(stored: Stored, events: Iterable[tuple[str, str, datetime]],
        half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> dict[str, list[float]]:
    """`stored` with the events (kind, theme, when) added; a sensitive or empty theme adds nothing. Each theme's
    score is expressed as of its latest event."""
    out = {theme: [float(v[0]), float(v[1])] for theme, v in stored.items() if theme not in SENSITIVE}
    for kind, theme, when in events:
        if not theme or theme in SENSITIVE:
            continue
        t = when.timestamp()
        weight = WEIGHTS.get(kind, 0.0)
        if theme in out:
            score, as_of = out[theme]
            if t >= as_of:
                out[theme] = [score * _factor(t - as_of, half_life_days) + weight, t]
            else:  # an event older than the stored score: add it decayed to the stored time
                out[theme] = [score + weight * _factor(as_of - t, half_life_days), as_of]
        else:
            out[theme] = [weight, t]
    return out


def theme_scores(stored: Stored, chosen: Mapping[str, bool], now: datetime,
                 half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> dict[str, float]:
    """What personalisation orders by: chosen themes first (`CHOSEN_SCORE`), then the inferred interests; themes
    set aside get a negative score (never first)."""
    scores = decayed(stored, now, half_life_days)
    for theme, wanted in chosen.items():
        scores[theme] = CHOSEN_SCORE if wanted else -1.0
    return scores


def top_themes(stored: Stored, chosen: Mapping[str, bool], now: datetime, limit: int = 3,
               half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> list[tuple[str, float, str]]:
    """The themes that lead the visitor's order, with why: (theme, score, « choisi » | « deduit »)."""
    scores = theme_scores(stored, chosen, now, half_life_days)
    ranked = sorted(((t, s) for t, s in scores.items() if s > 0), key=lambda item: (-item[1], item[0]))
    return [(t, s, "choisi" if chosen.get(t) else "deduit") for t, s in ranked[:limit]]


def group(key: str, control_percent: int = CONTROL_PERCENT) -> str:
    """« controle » or « personnalise », fixed for the profile's life."""
    bucket = int.from_bytes(hashlib.sha256(b"assist.groupe." + key.encode()).digest()[:4], "big") % 100
    return "controle" if bucket < control_percent else "personnalise"


# --- measuring -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Uplift:
    control_rate: float
    personalised_rate: float
    difference: float  # personalised − control, in click-through rate
    low: float
    high: float
    relative: float | None  # difference / control rate
    method: str = "Newcombe (1998) méthode 10, intervalles de Wilson à 95 %"


def wilson(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    denominator = 1 + z * z / trials
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def uplift(control_clicks: int, control_shown: int, personalised_clicks: int, personalised_shown: int,
           z: float = 1.959964) -> Uplift:
    """Personalised minus control click-through rate, with Newcombe's hybrid score interval."""
    p0 = control_clicks / control_shown if control_shown else 0.0
    p1 = personalised_clicks / personalised_shown if personalised_shown else 0.0
    l0, u0 = wilson(control_clicks, control_shown, z)
    l1, u1 = wilson(personalised_clicks, personalised_shown, z)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Uplift(p0, p1, d, low, high, d / p0 if p0 else None)
