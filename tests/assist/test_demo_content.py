"""The demo website's content (`assist/demo/pages-*.yaml`) and its search queries (`queries-*.yaml`) follow the
schema the site's seed, the search index and the search evaluation read — checked without a database, so that a
broken page is caught before anything loads it."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

DEMO = Path(__file__).resolve().parents[2] / "src" / "proactif" / "assist" / "demo"
KINDS = {"demarche", "actualite", "evenement"}
# Every theme, with the least number of pages having it as main theme
THEMES = {"etat-civil-papiers": 10, "famille-enfance": 8, "education-jeunesse": 5, "solidarite": 6, "seniors": 6,
          "handicap": 4, "logement": 6, "sante": 5, "emploi-entreprises": 6, "dechets-proprete": 6,
          "deplacements-stationnement": 5, "urbanisme-travaux": 6, "culture-loisirs": 6, "sport": 6,
          "securite-prevention": 5, "environnement": 5, "impots-paiements": 5, "vie-associative-citoyenne": 6}
AUDIENCES = {"tous", "familles", "jeunes", "seniors", "handicap", "entreprises", "associations", "nouveaux-habitants"}
FIELDS = {"slug", "kind", "title", "summary", "themes", "audience", "keywords", "body"}
OPTIONAL = {"demarche": {"deadline", "months"}, "actualite": {"date", "months"},
            "evenement": {"date", "end", "place", "months"}}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINK = re.compile(r"\]\(([^)]*)\)")
KNOWN_LINKS = ("/demarches/titres/", "/alertes/flux.atom", "/donnees-personnelles/", "/accessibilite/",
               "/mentions-legales/")


def load(pattern: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(DEMO.glob(pattern)):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, list), path.name
        found += data
    return found


PAGES = load("pages-*.yaml")
QUERIES = load("queries-*.yaml")
SLUGS = {page["slug"] for page in PAGES}


def words(text: str) -> int:
    """Words of a body: its tokens holding a letter or a digit (list dashes and heading marks are not words)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def has_accent(text: str) -> bool:
    return unicodedata.normalize("NFD", text) != text


def test_the_pages_are_over_a_hundred_unique_on_every_theme_and_mixed() -> None:
    assert len(PAGES) >= 100
    assert [s for s, n in Counter(page["slug"] for page in PAGES).items() if n > 1] == []
    main = Counter(page["themes"][0] for page in PAGES)
    assert {theme: main[theme] for theme, least in THEMES.items() if main[theme] < least} == {}
    kinds = Counter(page["kind"] for page in PAGES)
    assert 0.5 <= kinds["demarche"] / len(PAGES) <= 0.7, kinds
    assert kinds["actualite"] >= 0.15 * len(PAGES) and kinds["evenement"] >= 0.15 * len(PAGES), kinds


def test_children_s_sport_has_its_pages() -> None:
    """A later feature recognises parents looking for their children's sport: there must be pages to find."""
    children = [p for p in PAGES if p["themes"][0] == "sport" and "familles" in p["audience"]]
    assert len(children) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.get("slug", "?"))
def test_a_page_follows_the_schema(page: dict[str, Any]) -> None:
    assert page["kind"] in KINDS
    assert set(page) >= FIELDS and set(page) <= FIELDS | OPTIONAL[page["kind"]], sorted(page)
    assert SLUG.match(page["slug"]) and len(page["slug"]) <= 60
    assert isinstance(page["title"], str) and 0 < len(page["title"]) <= 90
    summary = page["summary"]
    assert isinstance(summary, str) and 0 < len(summary) <= 200
    assert summary.rstrip().endswith((".", "!", "?")) and not re.search(r"[.!?] [A-ZÀ-Ý]", summary), "one sentence"
    assert 1 <= len(page["themes"]) <= 3 and set(page["themes"]) <= set(THEMES)
    assert len(set(page["themes"])) == len(page["themes"])
    assert page["audience"] and set(page["audience"]) <= AUDIENCES
    assert len(set(page["audience"])) == len(page["audience"])
    assert 2 <= len(page["keywords"]) <= 8 and all(isinstance(k, str) and k.strip() for k in page["keywords"])
    body = page["body"]
    assert 120 <= words(body) <= 350, words(body)
    assert "\n\n\n" not in body.strip(), "paragraphs are separated by one blank line"
    for block in body.strip().split("\n\n"):
        # What the site's light markup renders: a « ## » heading, a paragraph on one line, or « - » list lines
        lines = block.splitlines()
        assert len(lines) == 1 or all(line.startswith("- ") for line in lines[1 if lines[0].startswith("## ")
                                                                               else 0:]), block
    for target in LINK.findall(body):
        assert target.startswith(("https://www.service-public.fr/", "/site/", *KNOWN_LINKS)), target
        if target.startswith("/site/"):
            assert target.removeprefix("/site/").strip("/") in SLUGS, target
    assert set(page.get("months", [])) <= set(range(1, 13))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.get("slug", "?"))
def test_a_page_dates_by_its_kind(page: dict[str, Any]) -> None:
    if page["kind"] == "actualite":
        assert isinstance(page.get("date"), int) and page["date"] <= 0
    elif page["kind"] == "evenement":
        assert isinstance(page.get("date"), int) and 1 <= page["date"] <= 120
        end = page.get("end", page["date"])
        assert isinstance(end, int) and page["date"] <= end <= 120
        assert isinstance(page.get("place"), str) and page["place"].strip()
    else:
        assert isinstance(page.get("deadline", ""), str)


def test_the_queries_are_sixty_or_more_a_third_of_each_kind_each_on_a_page() -> None:
    assert len(QUERIES) >= 60
    assert [q["expected"] for q in QUERIES if q["expected"] not in SLUGS] == []
    kinds = Counter(q["kind"] for q in QUERIES)
    assert set(kinds) == {"exact", "typo", "sans-accents"}
    assert min(kinds.values()) >= len(QUERIES) // 3 - 2, kinds
    assert len({q["query"] for q in QUERIES}) == len(QUERIES)
    for query in QUERIES:
        assert set(query) == {"query", "expected", "kind"}, query
        assert 1 <= len(query["query"].split()) <= 5, query
        if query["kind"] == "sans-accents":
            assert not has_accent(query["query"]), query


def test_half_the_queries_are_not_the_title() -> None:
    titles = {page["slug"]: page["title"].lower() for page in PAGES}
    copied = [q for q in QUERIES if q["query"].lower() in titles[q["expected"]]]
    assert len(copied) <= len(QUERIES) // 2
