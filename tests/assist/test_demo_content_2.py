"""The second half of the demo website's content (pages-2.yaml) and its search queries (queries-2.yaml) follow the
schema of issue 19, read with plain YAML and no database: a page the search index or the site could not take, or a
query the search evaluation could not score, fails here first."""

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
# The main themes this half covers, with the least number of pages each; part 1 covers the eight others
MINE = {"emploi-entreprises": 6, "dechets-proprete": 6, "deplacements-stationnement": 5, "urbanisme-travaux": 6,
        "culture-loisirs": 6, "sport": 6, "securite-prevention": 5, "environnement": 5, "impots-paiements": 5,
        "vie-associative-citoyenne": 6}
AUDIENCES = {"tous", "familles", "jeunes", "seniors", "handicap", "entreprises", "associations", "nouveaux-habitants"}
FIELDS = {"slug", "kind", "title", "summary", "themes", "audience", "keywords", "body"}
OPTIONAL = {"demarche": {"deadline", "months"}, "actualite": {"date", "months"},
            "evenement": {"date", "end", "place", "months"}}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINK = re.compile(r"\]\(([^)]*)\)")
KNOWN_LINKS = ("/demarches/titres/", "/alertes/flux.atom", "/donnees-personnelles/", "/accessibilite/",
               "/mentions-legales/")


def load(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((DEMO / name).read_text(encoding="utf-8"))
    assert isinstance(data, list), name
    return data


PAGES = load("pages-2.yaml")
QUERIES = load("queries-2.yaml") if (DEMO / "queries-2.yaml").exists() else []
SLUGS = {page["slug"] for page in PAGES}
# The other half's pages, when present: slugs are unique across the site, and a link may point at them
OTHERS = {page["slug"] for path in sorted(DEMO.glob("pages-*.yaml")) if path.name != "pages-2.yaml"
          for page in load(path.name)}


def words(text: str) -> int:
    """Words of a body: its tokens holding a letter or a digit (list dashes and heading marks are not words)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def has_accent(text: str) -> bool:
    return unicodedata.normalize("NFD", text) != text


def test_the_pages_are_enough_unique_and_mixed() -> None:
    slugs = [page["slug"] for page in PAGES]
    assert len(PAGES) >= 58
    assert [s for s, n in Counter(slugs).items() if n > 1] == []
    assert not SLUGS & OTHERS, "a slug is already taken by the other half"
    main = Counter(page["themes"][0] for page in PAGES)
    assert set(main) <= set(MINE), "a page whose main theme belongs to part 1"
    assert {theme: main[theme] for theme in MINE if main[theme] < MINE[theme]} == {}
    kinds = Counter(page["kind"] for page in PAGES)
    assert 0.5 <= kinds["demarche"] / len(PAGES) <= 0.7, kinds
    assert kinds["actualite"] >= 0.15 * len(PAGES) and kinds["evenement"] >= 0.15 * len(PAGES), kinds


def test_children_s_sport_has_its_pages() -> None:
    """A later feature recognises parents looking for their children's sport: there must be pages to find."""
    children = [p for p in PAGES if p["themes"][0] == "sport" and "familles" in p["audience"]]
    assert len(children) >= 3


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.get("slug", "?"))
def test_a_page_follows_the_schema(page: dict[str, Any]) -> None:
    assert set(page) >= FIELDS and set(page) <= FIELDS | OPTIONAL[page["kind"]], sorted(page)
    assert SLUG.match(page["slug"]) and len(page["slug"]) <= 60
    assert isinstance(page["title"], str) and 0 < len(page["title"]) <= 90
    summary = page["summary"]
    assert isinstance(summary, str) and 0 < len(summary) <= 200
    assert summary.endswith((".", "!", "?")) and not re.search(r"[.!?] [A-ZÀ-Ý]", summary), "one sentence"
    assert 1 <= len(page["themes"]) <= 3 and set(page["themes"]) <= THEMES
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
        assert len(lines) == 1 or all(line.startswith("- ") for line in lines), block
    for target in LINK.findall(body):
        assert target.startswith(("https://www.service-public.fr/", "/site/", *KNOWN_LINKS)), target
        if target.startswith("/site/"):
            assert target.removeprefix("/site/").strip("/") in SLUGS | OTHERS, target
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
        assert "date" not in page
        assert isinstance(page.get("deadline", ""), str)


def test_the_queries_point_at_pages_of_this_half() -> None:
    assert len(QUERIES) >= 34
    assert [q["expected"] for q in QUERIES if q["expected"] not in SLUGS] == []
    assert len({q["query"] for q in QUERIES}) == len(QUERIES)
    kinds = Counter(q["kind"] for q in QUERIES)
    assert set(kinds) == {"exact", "typo", "sans-accents"}
    assert min(kinds.values()) >= len(QUERIES) // 3 - 1, kinds
    for query in QUERIES:
        assert set(query) == {"query", "expected", "kind"}, query
        assert 1 <= len(query["query"].split()) <= 5, query
        if query["kind"] == "sans-accents":
            assert not has_accent(query["query"]), query


def test_half_the_queries_are_not_the_title() -> None:
    titles = {page["slug"]: page["title"].lower() for page in PAGES}
    copied = [q for q in QUERIES if q["query"].lower() in titles[q["expected"]]]
    assert len(copied) <= len(QUERIES) // 2
