"""The first half of the demo website's content (pages-1.yaml) and its search queries (queries-1.yaml) follow the
schema of issue 19: what the search index, the site and the evaluation of the search read, checked without a
database so that a broken page is caught before anything loads it."""

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
THEMES = {
    "etat-civil-papiers", "famille-enfance", "education-jeunesse", "solidarite", "seniors", "handicap", "logement",
    "sante", "emploi-entreprises", "dechets-proprete", "deplacements-stationnement", "urbanisme-travaux",
    "culture-loisirs", "sport", "securite-prevention", "environnement", "impots-paiements",
    "vie-associative-citoyenne",
}
# The themes this half covers as main theme; part 2 covers the others
MINE = {"etat-civil-papiers": 10, "famille-enfance": 8, "education-jeunesse": 5, "solidarite": 6, "seniors": 6,
        "handicap": 4, "logement": 6, "sante": 5}
AUDIENCES = {"tous", "familles", "jeunes", "seniors", "handicap", "entreprises", "associations", "nouveaux-habitants"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINK = re.compile(r"\]\(([^)]*)\)")
KNOWN_LINKS = ("/demarches/titres/", "/alertes/flux.atom", "/donnees-personnelles/", "/accessibilite/",
               "/mentions-legales/")


def load(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((DEMO / name).read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


PAGES = load("pages-1.yaml")
QUERIES = load("queries-1.yaml")
SLUGS = {page["slug"] for page in PAGES}


def words(text: str) -> int:
    """Words of a body: its tokens holding a letter or a digit (list dashes and heading marks are not words)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def has_accent(text: str) -> bool:
    return unicodedata.normalize("NFD", text) != text


def test_the_pages_are_enough_and_their_slugs_unique() -> None:
    slugs = [page["slug"] for page in PAGES]
    assert len(PAGES) >= 58
    assert [s for s, n in Counter(slugs).items() if n > 1] == []
    main = Counter(page["themes"][0] for page in PAGES)
    assert {theme: main[theme] for theme in MINE if main[theme] < MINE[theme]} == {}
    assert set(main) <= set(MINE), "a page of part 2's themes as main theme"
    kinds = Counter(page["kind"] for page in PAGES)
    assert 0.5 <= kinds["demarche"] / len(PAGES) <= 0.7
    assert kinds["actualite"] >= 0.15 * len(PAGES) and kinds["evenement"] >= 0.15 * len(PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.get("slug", "?"))
def test_a_page_follows_the_schema(page: dict[str, Any]) -> None:
    allowed = {"slug", "kind", "title", "summary", "themes", "audience", "keywords", "body", "date", "end", "place",
               "deadline", "months"}
    assert set(page) <= allowed and {"slug", "kind", "title", "summary", "themes", "audience", "keywords",
                                     "body"} <= set(page)
    assert SLUG.match(page["slug"]) and len(page["slug"]) <= 60
    assert page["kind"] in KINDS
    assert isinstance(page["title"], str) and 0 < len(page["title"]) <= 90
    summary = page["summary"]
    assert isinstance(summary, str) and 0 < len(summary) <= 200 and summary.rstrip().endswith((".", "!", "?"))
    assert 1 <= len(page["themes"]) <= 3 and set(page["themes"]) <= THEMES
    assert len(set(page["themes"])) == len(page["themes"])
    assert page["audience"] and set(page["audience"]) <= AUDIENCES
    assert 2 <= len(page["keywords"]) <= 8 and all(isinstance(k, str) and k.strip() for k in page["keywords"])
    assert 120 <= words(page["body"]) <= 350, words(page["body"])
    for target in LINK.findall(page["body"]):
        assert target.startswith(("https://www.service-public.fr/", "/site/", *KNOWN_LINKS)), target
        if target.startswith("/site/"):
            assert target.removeprefix("/site/").strip("/") in SLUGS, target
    assert set(page.get("months", [])) <= set(range(1, 13))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.get("slug", "?"))
def test_a_page_dates_by_its_kind(page: dict[str, Any]) -> None:
    kind = page["kind"]
    if kind == "actualite":
        assert isinstance(page.get("date"), int) and page["date"] <= 0
        assert not {"end", "place", "deadline"} & set(page)
    elif kind == "evenement":
        assert isinstance(page.get("date"), int) and 1 <= page["date"] <= 120
        assert page.get("end", page["date"]) >= page["date"] and isinstance(page.get("end", 0), int)
        assert isinstance(page.get("place"), str) and page["place"].strip()
        assert "deadline" not in page
    else:
        assert not {"date", "end", "place"} & set(page)
        assert isinstance(page.get("deadline", ""), str)


def test_the_queries_point_at_pages_of_this_half() -> None:
    assert len(QUERIES) >= 34
    assert [q["expected"] for q in QUERIES if q["expected"] not in SLUGS] == []
    kinds = Counter(q["kind"] for q in QUERIES)
    assert set(kinds) == {"exact", "typo", "sans-accents"}
    assert min(kinds.values()) >= len(QUERIES) // 3 - 2
    assert len({q["query"] for q in QUERIES}) == len(QUERIES)
    for query in QUERIES:
        assert set(query) == {"query", "expected", "kind"}
        assert 1 <= len(query["query"].split()) <= 5, query
        if query["kind"] == "sans-accents":
            assert not has_accent(query["query"]), query


def test_half_the_queries_are_not_the_title() -> None:
    titles = {page["slug"]: page["title"].lower() for page in PAGES}
    copied = [q for q in QUERIES if q["query"].lower() in titles[q["expected"]]]
    assert len(copied) <= len(QUERIES) // 2
