"""The order by context, as pure functions: an interest the visitor chose outranks any context, an alert in
progress outranks the season, deadlines and events count by how close they are, ties keep the default order."""

from __future__ import annotations

from datetime import date, timedelta

from proactif.assist import domain

TODAY = date(2026, 12, 7)


def themes(*facts: domain.ThemeFacts) -> list[str]:
    return [str(r.key) for r in domain.rank_themes(facts, domain.Context(TODAY))]


def test_without_context_the_themes_keep_their_position() -> None:
    facts = [domain.ThemeFacts(slug, position) for position, slug in enumerate(["a", "b", "c"])]
    assert [r.key for r in domain.rank_themes(facts, domain.Context(TODAY))] == ["a", "b", "c"]


def test_chosen_beats_alert_beats_season_beats_position() -> None:
    facts = [domain.ThemeFacts("rien", 0), domain.ThemeFacts("saison", 1, months=(12,)),
             domain.ThemeFacts("alerte", 2), domain.ThemeFacts("choisi", 3)]
    context = domain.Context(TODAY, alert_themes=frozenset({"alerte"}), chosen_themes=frozenset({"choisi"}))
    ranked = domain.rank_themes(facts, context)
    assert [r.key for r in ranked] == ["choisi", "alerte", "saison", "rien"]
    assert ranked[0].reasons == ("choisi",) and ranked[2].reasons == ("saison",)


def test_a_deadline_counts_more_as_it_comes_closer_and_not_once_past() -> None:
    def score(days: int) -> float:
        page = domain.PageFacts(1, "demarche", ("x",), deadline=TODAY + timedelta(days=days))
        return domain.page_score(page, domain.Context(TODAY)).score

    assert score(1) > score(20) > score(44) > 0
    assert score(-1) == 0 and score(60) == 0


def test_an_event_in_progress_counts_fully_a_past_one_is_not_current() -> None:
    running = domain.PageFacts(1, "evenement", (), day=TODAY - timedelta(days=1), ends=TODAY + timedelta(days=2))
    past = domain.PageFacts(2, "evenement", (), day=TODAY - timedelta(days=3), ends=TODAY - timedelta(days=1))
    assert domain.page_score(running, domain.Context(TODAY)).score == domain.EVENT
    assert domain.is_current(running, TODAY) and not domain.is_current(past, TODAY)
    old_news = domain.PageFacts(3, "actualite", (), day=TODAY - timedelta(days=90))
    assert not domain.is_current(old_news, TODAY)


def test_pages_tie_in_their_default_order() -> None:
    pages = [domain.PageFacts(i, "demarche", (), position=i) for i in (3, 1, 2)]
    assert [r.key for r in domain.rank_pages(pages, domain.Context(TODAY))] == [1, 2, 3]
