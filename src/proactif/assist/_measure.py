"""Personalisation measured: the blocks shown and clicked in the control group (default order) and in the
personalised group, per surface and overall, with the uplift's interval (`_interests.uplift`: Newcombe's hybrid
score interval, method 10, from Wilson intervals at 95 %); and `simulate`, the same measure on synthetic visitors
whose interests are known, for the benchmark.

Assignment: a profile's group is fixed by a hash of its random key (`_interests.group`), independent of its
interests: `PERSONALISATION_CONTROL_PERCENT` % of the profiles keep the default order for their whole life."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Sum

from proactif.assist import _interests, domain
from proactif.assist.models import BlockStat
from proactif.kernel import clock

CONTROL, PERSONALISED = "controle", "personnalise"
SURFACES = {"home": "Accueil"}


def fr_number(value: float, decimals: int = 0) -> str:
    """A number the French way: thin space between thousands, comma for decimals (« 12 345,6 »)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def fr_percent(rate: float, decimals: int = 1, signed: bool = False) -> str:
    text = fr_number(abs(rate) * 100 if signed else rate * 100, decimals)
    if signed:
        text = ("+" if rate >= 0 else "−") + text
    return f"{text}\u202f%"


def surface_label(surface: str) -> str:
    if surface.startswith("theme:"):
        return f"Thème « {surface.removeprefix('theme:')} »"
    return SURFACES.get(surface, surface)


def _figures(rows: dict[str, tuple[int, int]]) -> dict[str, Any]:
    shown0, clicks0 = rows.get(CONTROL, (0, 0))
    shown1, clicks1 = rows.get(PERSONALISED, (0, 0))
    result = _interests.uplift(clicks0, shown0, clicks1, shown1)
    return {
        "control": {"shown": shown0, "clicks": clicks0, "rate": result.control_rate,
                    "shown_fr": fr_number(shown0), "clicks_fr": fr_number(clicks0),
                    "rate_fr": fr_percent(result.control_rate, 2)},
        "personalised": {"shown": shown1, "clicks": clicks1, "rate": result.personalised_rate,
                         "shown_fr": fr_number(shown1), "clicks_fr": fr_number(clicks1),
                         "rate_fr": fr_percent(result.personalised_rate, 2)},
        "uplift": result,
        "enough": shown0 > 0 and shown1 > 0,
        "difference_fr": fr_percent(result.difference, 2, signed=True),
        "interval_fr": f"[{fr_percent(result.low, 2, signed=True)} ; {fr_percent(result.high, 2, signed=True)}]",
        "relative_fr": fr_percent(result.relative, 0, signed=True) if result.relative is not None else "—",
        "significant": result.low > 0 or result.high < 0,
    }


def measure(days: int = 30, today: date | None = None) -> dict[str, Any]:
    """The last `days` days of BlockStat, per surface and overall (counts only)."""
    today = today or clock.today()
    since = today - timedelta(days=days - 1)
    per: dict[str, dict[str, tuple[int, int]]] = {}
    overall: dict[str, list[int]] = {}
    for row in (BlockStat.objects.filter(day__gte=since, day__lte=today).values("surface", "group")
                .annotate(shown=Sum("shown"), clicks=Sum("clicks")).order_by("surface", "group")):
        shown, clicks = int(row["shown"] or 0), int(row["clicks"] or 0)
        per.setdefault(row["surface"], {})[row["group"]] = (shown, clicks)
        total = overall.setdefault(row["group"], [0, 0])
        total[0] += shown
        total[1] += clicks
    surfaces = [{"surface": s, "label": surface_label(s), **_figures(groups)}
                for s, groups in sorted(per.items(), key=lambda item: (item[0] != "home", item[0]))]
    return {
        "days": days, "since": since, "today": today,
        "overall": _figures({g: (v[0], v[1]) for g, v in overall.items()}),
        "surfaces": surfaces,
        "control_percent": int(settings.PERSONALISATION_CONTROL_PERCENT),
        "method": _interests.Uplift.method,
    }


# --- synthetic visitors ---------------------------------------------------------------------------------------
THEMES = ("etat-civil-papiers", "famille-enfance", "education-jeunesse", "solidarite", "seniors", "handicap",
          "logement", "sante", "emploi-entreprises", "dechets-proprete", "deplacements-stationnement",
          "urbanisme-travaux", "culture-loisirs", "sport", "securite-prevention", "environnement",
          "impots-paiements", "vie-associative-citoyenne")
BLOCKS = 6  # theme blocks on the home
EXAMINE = (0.95, 0.7, 0.5, 0.38, 0.3, 0.24)  # the chance a visitor looks at the block at each position
CLICK_INTERESTED = 0.35  # the chance of a click on a block they look at, on one of their interests
CLICK_OTHER = 0.04


def simulate(visitors: int, seed: int, control_percent: int = 50, today: date | None = None) -> dict[str, Any]:
    """Synthetic visitors with one or two known interests browse a few pages (their interests inferred by
    `_interests.add`, sensitive themes never), then see the home's theme blocks in the default order (control) or
    personalised (`domain.rank_themes` with their decayed inferred interests); clicks follow a position-biased model,
    more likely on their interests. Returns both groups' figures and the uplift with its interval."""
    if visitors < 1:
        raise ValueError("au moins un visiteur")
    rng = random.Random(seed)
    today = today or date(2026, 11, 2)
    now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
    facts = [domain.ThemeFacts(slug, position) for position, slug in enumerate(THEMES)]
    default = [str(r.key) for r in domain.rank_themes(facts, domain.Context(today=today))][:BLOCKS]
    counts = {CONTROL: [0, 0], PERSONALISED: [0, 0]}
    hits = {CONTROL: 0, PERSONALISED: 0}
    for index in range(visitors):
        interests = rng.sample(THEMES, rng.choice((1, 1, 2)))
        events = []
        for _ in range(rng.randint(2, 8)):
            theme = rng.choice(interests) if rng.random() < 0.8 else rng.choice(THEMES)
            events.append((rng.choice(("page_vue", "page_vue", "recherche", "clic")), theme,
                           now - timedelta(days=rng.uniform(0, 40))))
        stored = _interests.add({}, events)
        key = f"{seed}-{index}"
        bucket = _interests.group(key, control_percent)
        if bucket == PERSONALISED:
            inferred = _interests.decayed(stored, now)  # as the site orders a profile's home (never sensitive)
            order = [str(r.key) for r in domain.rank_themes(facts, domain.Context(today=today, interests=inferred))]
            shown = order[:BLOCKS]
        else:
            shown = default
        hits[bucket] += bool(set(shown) & set(interests))
        for position, theme in enumerate(shown):
            counts[bucket][0] += 1
            if rng.random() < EXAMINE[position]:
                chance = CLICK_INTERESTED if theme in interests else CLICK_OTHER
                counts[bucket][1] += rng.random() < chance
    result = _interests.uplift(counts[CONTROL][1], counts[CONTROL][0], counts[PERSONALISED][1],
                               counts[PERSONALISED][0])
    groups = {g: {"visitors": counts[g][0] // BLOCKS, "shown": counts[g][0], "clicks": counts[g][1],
                  "rate": round(counts[g][1] / counts[g][0], 4) if counts[g][0] else 0.0,
                  "interest_shown": round(hits[g] / (counts[g][0] // BLOCKS), 4) if counts[g][0] else 0.0}
              for g in (CONTROL, PERSONALISED)}
    return {"visitors": visitors, "seed": seed, "control_percent": control_percent, "blocks": BLOCKS,
            "control": groups[CONTROL], "personalised": groups[PERSONALISED],
            "uplift": round(result.difference, 4), "low": round(result.low, 4), "high": round(result.high, 4),
            "relative": round(result.relative, 3) if result.relative is not None else None,
            "method": result.method,
            "model": (f"clic par bloc regardé : {CLICK_INTERESTED} sur un centre d'intérêt, {CLICK_OTHER} sinon ; "
                      f"probabilité de regarder par position : {', '.join(str(p) for p in EXAMINE)}")}
