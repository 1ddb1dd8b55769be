"""The public site's use cases: what the home, a theme and a page show and in which order, the search, the
visitor's own choices (cookies, interests) — the entry point for the views, the CLI and the other capabilities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from wagtail.models import Page

from proactif.assist import (
    _audience,
    _classify,
    _consent,
    _gdpr,
    _ingest,
    _interests,
    _newsletter,
    _profiles,
    _resident,
    _search,
    _segments,
    _site,
    domain,
)
from proactif.assist.models import (
    ConsentProof,
    ContentPage,
    DemarchePage,
    EvenementPage,
    Profile,
    Theme,
)
from proactif.kernel import capabilities, clock

INTERESTS_COOKIE = "proactif_interets"
INTERESTS_AGE = 395 * 24 * 3600  # 13 months: the visitor's own setting, kept on their device only
resident_link = _resident.resident_link  # (person id, days=14) → a signed link to « Ce qui vous concerne »
ResidentLinkError = _resident.ResidentLinkError
session_person = _resident.session_person
demo_resident_link = _resident.demo_link  # () → (person id, link) or None


def install() -> None:
    """The site's tree and themes, the default segments, the newsletters' message templates (idempotent)."""
    _site.install()
    _segments.install_segments()
    _newsletter.install_templates()


seed_demo = _site.seed_demo
reindex = _site.reindex_all
count = _audience.count
profiles = _profiles
receive_events = _ingest.receive
classify = _classify.classify
current_themes = _classify.current_themes


class _ConsentChoices:
    """`_consent` as the views use it, with one addition: an answer without personalisation freezes the visitor's
    profile at once (it would be frozen at their next request anyway, `_profiles.current`)."""

    def __getattr__(self, name: str) -> Any:  # the rest of `_consent` as it is (COOKIE, VALIDITY, current…)
        return getattr(_consent, name)

    @staticmethod
    def record(request: HttpRequest, choices: dict[str, bool], response: HttpResponse) -> ConsentProof:
        proof = _consent.record(request, choices, response)
        if not proof.choices.get(_profiles.PURPOSE_CODE):
            _profiles.refused(request)
        return proof


consent = _ConsentChoices()


def purge() -> dict[str, int]:
    """The site's retention (`_gdpr.purge`): consent proofs, audience counts, profiles, events, subscriptions."""
    return _gdpr.purge()


# --- the visitor's own choices -------------------------------------------------------------------------------
def chosen_interests(request: HttpRequest) -> frozenset[str]:
    """The themes the visitor ticked on « Mes centres d'intérêt » (kept in their browser: a setting they asked
    for, not tracking — no consent needed, nothing on the server)."""
    raw = request.COOKIES.get(INTERESTS_COOKIE, "")
    known = theme_slugs()
    return frozenset(slug for slug in raw.split(".") if slug in known)


def keep_interests(response: HttpResponse, request: HttpRequest, slugs: list[str]) -> list[str]:
    known = theme_slugs()
    kept = [slug for slug in dict.fromkeys(slugs) if slug in known]
    if kept:
        response.set_cookie(INTERESTS_COOKIE, ".".join(kept), max_age=INTERESTS_AGE, httponly=True, samesite="Lax",
                            secure=request.is_secure())
    else:
        response.delete_cookie(INTERESTS_COOKIE, samesite="Lax")
    return kept


def theme_slugs() -> set[str]:
    return set(Theme.objects.values_list("slug", flat=True))


# --- ordering by context -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Card:
    page: ContentPage
    kind: str
    score: float
    reasons: tuple[str, ...]


PERSONALISED = "personnalise"
ANONYMOUS = "anonyme"


@dataclass(frozen=True)
class Personal:
    """Who orders the page: the visitor's profile (with consent) and its group, or nobody."""

    profile: Profile | None
    group: str  # controle | personnalise | anonyme (no profile: no consent, or none made yet)

    @property
    def applied(self) -> bool:
        return self.group == PERSONALISED


def personal(request: HttpRequest) -> Personal:
    """The visitor's profile (one indexed lookup by its key) and its group."""
    profile = _profiles.current(request)
    return Personal(profile, _profiles.group(profile) if profile is not None else ANONYMOUS)


def context_for(request: HttpRequest, visited: tuple[str, ...] = (), who: Personal | None = None) -> domain.Context:
    """The order's context; with a profile in the personalised group, its choices and inferred interests too (a
    profile in the control group keeps the default order)."""
    notices = capabilities.public_notices()
    chosen = chosen_interests(request)
    interests: dict[str, float] = {}
    set_aside: frozenset[str] = frozenset()
    if who is not None and who.applied and who.profile is not None:
        scores = _profiles.scores(who.profile)
        chosen |= {t for t, s in scores.items() if s >= _interests.CHOSEN_SCORE}
        set_aside = frozenset(t for t, s in scores.items() if s < 0) - chosen
        interests = {t: s for t, s in scores.items() if 0 < s < _interests.CHOSEN_SCORE}
    return domain.Context(today=clock.today(), alert_themes=frozenset(n.theme for n in notices),
                          visited_themes=visited, chosen_themes=chosen, interests=interests, set_aside=set_aside)


def _live_pages() -> list[ContentPage]:
    return _site.live_pages()


def _slugs(page: ContentPage) -> tuple[str, ...]:
    """The page's theme slugs, read once per page object (modelcluster builds a queryset at every `.all()`)."""
    cached = page.__dict__.get("_theme_slugs")
    if cached is None:
        cached = page.__dict__["_theme_slugs"] = tuple(t.slug for t in page.themes.all())
    return cached  # type: ignore[no-any-return]


def _facts(page: ContentPage, views: dict[str, int], position: int) -> domain.PageFacts:
    months = tuple(int(m) for m in getattr(page, "months", "").split(",") if m.strip().isdigit())
    return domain.PageFacts(
        page_id=page.pk, kind=_site.KIND_OF[type(page)], themes=_slugs(page),
        position=position, day=getattr(page, "date", None) or getattr(page, "starts", None),
        ends=getattr(page, "ends", None), deadline=getattr(page, "deadline_date", None), months=months,
        views=views.get(page.url or "", 0))


def ranked_cards(pages: list[ContentPage], context: domain.Context, current_only: bool = False) -> list[Card]:
    views = _audience.views_by_path()
    facts = {page.pk: _facts(page, views, position) for position, page in enumerate(pages)}
    by_id = {page.pk: page for page in pages}
    chosen = [f for f in facts.values() if not current_only or domain.is_current(f, context.today)]
    return [Card(by_id[int(r.key)], facts[int(r.key)].kind, r.score, r.reasons)
            for r in domain.rank_pages(chosen, context)]


def ranked_themes(context: domain.Context, pages: list[ContentPage]) -> list[tuple[Theme, domain.Ranked]]:
    themes = list(Theme.objects.all())
    deadlines: dict[str, list[date]] = {}
    events: dict[str, list[date]] = {}
    for page in pages:
        for slug in _slugs(page):
            if isinstance(page, DemarchePage) and page.deadline_date:
                deadlines.setdefault(slug, []).append(page.deadline_date)
            if isinstance(page, EvenementPage):
                events.setdefault(slug, []).append(page.starts)
    facts = [domain.ThemeFacts(t.slug, t.position, tuple(t.month_list()), tuple(deadlines.get(t.slug, ())),
                               tuple(events.get(t.slug, ()))) for t in themes]
    by_slug = {t.slug: t for t in themes}
    return [(by_slug[str(r.key)], r) for r in domain.rank_themes(facts, context)]


def _shown(request: HttpRequest, surface: str, who: Personal, blocks: list[str]) -> None:
    """The blocks a GET displayed, counted per day, surface, group and block (one upsert)."""
    if request.method == "GET" and blocks:
        _ingest.add_block_counts({(surface, who.group, block): (1, 0) for block in blocks})


def home_data(request: HttpRequest) -> dict[str, Any]:
    who = personal(request)
    context = context_for(request, who=who)
    pages = _live_pages()
    cards = ranked_cards(pages, context, current_only=True)
    themes = ranked_themes(context, pages)
    now = [c for c in cards if c.kind != "demarche"][:6]
    demarches = [c for c in cards if c.kind == "demarche"][:6]
    _shown(request, "home", who, [t.slug for t, _ in themes] + [str(c.page.pk) for c in now + demarches])
    return {
        "notices": capabilities.public_notices(),
        "themes": themes,
        "now": now,
        "demarches": demarches,
        "chosen": sorted(context.chosen_themes),
        "surface": "home",
        "personalised": who.applied and bool(context.interests or context.chosen_themes or context.set_aside),
    }


def theme_data(request: HttpRequest, theme: Theme) -> dict[str, Any]:
    who = personal(request)
    context = context_for(request, visited=(theme.slug,), who=who)
    pages = [p for p in _live_pages() if theme.slug in _slugs(p)]
    cards = ranked_cards(pages, context, current_only=True)
    surface = f"theme:{theme.slug}"
    _shown(request, surface, who, [str(c.page.pk) for c in cards])
    return {"theme": theme, "cards": cards, "surface": surface}


def why_data(request: HttpRequest) -> dict[str, Any]:
    """« Pourquoi je vois ceci » : what leads the visitor's order and why, their group, their choices."""
    who = personal(request)
    decision = _consent.current(request)
    names = dict(Theme.objects.values_list("slug", "name"))
    cookie_chosen = chosen_interests(request)
    leading: list[dict[str, Any]] = []
    if who.profile is not None:
        for slug, _score, why in _profiles.top(who.profile, limit=5):
            leading.append({"slug": slug, "name": names.get(slug, slug),
                            "why": "choisi" if why == "choisi" or slug in cookie_chosen else "deduit"})
    known = {row["slug"] for row in leading}
    leading += [{"slug": s, "name": names.get(s, s), "why": "choisi"} for s in sorted(cookie_chosen - known)]
    return {"who": who, "profile": who.profile, "group": who.group, "leading": leading,
            "consented": decision is not None and decision.allows(_profiles.PURPOSE_CODE),
            "suspended": _profiles.named_by_cookie(request) if who.profile is None else None,
            "control_percent": settings.PERSONALISATION_CONTROL_PERCENT,
            "half_life": settings.INTEREST_HALF_LIFE_DAYS,
            "events": who.profile.events if who.profile is not None else 0}


def related(request: HttpRequest, page: ContentPage, limit: int = 4) -> list[Card]:
    """« Sur le même thème » under a page: the pages sharing its themes, by context."""
    slugs = {t.slug for t in page.themes.all()}
    context = context_for(request, visited=tuple(sorted(slugs)))
    pages = [p for p in _live_pages() if p.pk != page.pk and slugs & set(_slugs(p))]
    return ranked_cards(pages, context, current_only=True)[:limit]


# --- search --------------------------------------------------------------------------------------------------
def search(query: str, limit: int = 20) -> dict[str, Any]:
    query = " ".join(query.replace("\x00", " ").split())[:200]  # PostgreSQL's text holds no NUL
    if not query:
        return {"query": "", "hits": [], "theme": None}
    hits = _search.search(query, limit=limit)
    public = set(Page.objects.filter(pk__in=[h.page_id for h in hits]).live().public().values_list("pk", flat=True))
    hits = [h for h in hits if h.page_id in public]  # a page restricted since it was indexed stays out
    classified = _classify.classify([query])[0]
    theme = Theme.objects.filter(slug=classified.theme).first()
    _audience.count(f"theme:{classified.theme}", "recherche")
    return {"query": query, "hits": hits, "theme": theme, "score": classified.score}


def page_context(request: HttpRequest, page: Page) -> dict[str, Any]:
    """What the site's templates get on every CMS page: the frame, and the page's own blocks."""
    from proactif.assist.models import HomePage, SectionPage

    data: dict[str, Any] = frame(request)
    if isinstance(page, HomePage):
        data.update(home_data(request))
    elif isinstance(page, SectionPage):
        children = [p for p in _live_pages() if p.path.startswith(page.path) and p.depth == page.depth + 1]
        kind = _site.KIND_OF[type(children[0])] if children else ""
        if kind == "demarche":  # the démarches by title: a résident looks one up, nothing is « current »
            data["cards"] = [Card(p, kind, 0.0, ()) for p in sorted(children, key=lambda p: p.title)]
        else:
            data["cards"] = ranked_cards(children, context_for(request), current_only=True)
    elif isinstance(page, ContentPage):
        data["related"] = related(request, page)
        data["kind"] = _site.KIND_OF[type(page)]
    return data


def frame(request: HttpRequest) -> dict[str, Any]:
    """The site's header, navigation and consent banner, for every public page."""
    home = _site.home()
    sections = list(home.get_children().live().order_by("path"))
    path = request.path
    navigation = [{"label": "Accueil", "url": home.url, "active": path == home.url}]
    navigation += [{"label": s.title, "url": s.url, "active": bool(s.url) and path.startswith(s.url)}
                   for s in sections]
    navigation.append({"label": "Mes centres d'intérêt", "url": "/site/mes-centres-d-interet/",
                       "active": path.startswith("/site/mes-centres-d-interet/")})
    decision = _consent.current(request)
    return {"navigation": navigation, "home_url": home.url, "agent_page": False,
            "consent": decision, "consent_asked": decision is None,
            "personalisation_allowed": decision is not None and decision.allows(_profiles.PURPOSE_CODE),
            "consent_purposes": [{"code": code, "title": title, "desc": desc,
                                  "accepted": decision is not None and decision.allows(code)}
                                 for code, (title, desc) in _consent.PURPOSES.items()]}


# --- the communication service's view of its site ------------------------------------------------------------
def editorial_figures(days: int = 30) -> dict[str, Any]:
    """What the editors see of their site: pages published, the anonymous audience, the themes people search,
    and how visitors answer the cookie banner — totals only, nothing about a visitor."""
    from proactif.assist.models import ConsentProof

    views = _audience.views_by_path(days)
    searches = _audience.views_by_path(days, kind="recherche")
    names = dict(Theme.objects.values_list("slug", "name"))
    titles = {p.url: p.title for p in Page.objects.live().descendant_of(_site.home(), inclusive=True)}
    since = clock.now() - _consent.VALIDITY
    recent = ConsentProof.objects.filter(decided_at__gte=since)
    decided = recent.count()
    accepted = recent.filter(choices__personnalisation=True).count()
    return {
        "days": days, "published": len(_live_pages()), "views": sum(views.values()),
        "top_pages": [(titles.get(path, path), path, n) for path, n in sorted(views.items(), key=lambda i: -i[1])
                      if path in titles][:10],
        "searches": sum(searches.values()),
        "search_themes": [(names.get(key.removeprefix("theme:"), key.removeprefix("theme:")), n)
                          for key, n in sorted(searches.items(), key=lambda i: -i[1])][:10],
        "consents": decided, "accepted": accepted,
        "accepted_share": round(100 * accepted / decided) if decided else None,
    }


def warm_up() -> None:
    """Load the query classifier's model and the themes' vectors (about 3 seconds), so that the first search of a
    web worker does not wait for them."""
    from django.db import connection

    try:
        _classify.classify(["démarches en mairie"], use_cache=False)
    finally:
        connection.close()


def demo_queries() -> list[dict[str, Any]]:
    """The committed search evaluation set: residents' queries on the demo site with the page each must find."""
    return _site.demo_files("queries-*.yaml")


def evaluate_search() -> dict[str, Any]:
    """Recall@5 of the site's search on this database (the demo site published), overall and by kind."""
    from django.db import connection

    queries = demo_queries()
    missing = sorted({q["expected"] for q in queries} - set(Page.objects.values_list("slug", flat=True)))
    if missing:
        raise LookupError(f"{len(missing)} pages attendues ne sont pas publiées ({', '.join(missing[:3])}…) : "
                          "publiez le site de démonstration (proactif assist seed-site)")
    figures = _search.evaluate(queries)
    figures["database"] = connection.vendor
    figures.pop("top1", None)
    return figures
