"""The search box's queries sorted into the site's themes, offline (issue 19, part 4): the shape of the answer,
the shipped themes, the agents' edits taking effect, a fresh database, the accuracy floor on the test split, and
the `proactif assist classify` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.db import DatabaseError

from proactif.assist import _classify as clf
from proactif.assist.models import Theme
from proactif.bench.assist import accuracy, evaluation_set
from proactif.cli import main

SLUGS = ["etat-civil-papiers", "famille-enfance", "education-jeunesse", "solidarite", "seniors", "handicap",
         "logement", "sante", "emploi-entreprises", "dechets-proprete", "deplacements-stationnement",
         "urbanisme-travaux", "culture-loisirs", "sport", "securite-prevention", "environnement",
         "impots-paiements", "vie-associative-citoyenne"]


def test_the_eighteen_default_themes_in_order() -> None:
    themes = clf.default_themes()
    assert [t.slug for t in themes] == SLUGS
    assert all(t.name and t.description and len(t.keywords) >= 10 for t in themes)
    assert all(1 <= m <= 12 for t in themes for m in t.months)


def test_classify_returns_theme_score_and_alternatives() -> None:
    results = clf.classify(["cantine tarif", "comment refaire ma carte grise"], clf.default_themes(), alternatives=3)
    assert [r.query for r in results] == ["cantine tarif", "comment refaire ma carte grise"]
    assert [r.theme for r in results] == ["education-jeunesse", "deplacements-stationnement"]
    for r in results:
        assert len(r.alternatives) == 3 and r.theme not in {s for s, _ in r.alternatives}
        scores = [r.score, *(v for _, v in r.alternatives)]
        assert scores == sorted(scores, reverse=True) and all(isinstance(v, float) for v in scores)
    assert clf.classify([], clf.default_themes()) == []


def test_the_cache_does_not_change_the_answer() -> None:
    queries = ["horaires piscine", "pasport urgent", "horaires piscine"]
    cached = clf.classify(queries, clf.default_themes())
    fresh = clf.classify(queries, clf.default_themes(), use_cache=False)
    assert [(r.theme, r.score) for r in cached] == [(r.theme, r.score) for r in fresh]


def test_top1_on_the_test_split_stays_above_the_floor() -> None:
    rows = [r for r in evaluation_set() if r.split == "test"]
    themes = clf.default_themes()
    top1, top2, _ = accuracy(clf.score_matrix([r.query for r in rows], themes), [t.slug for t in themes],
                             [r.theme for r in rows])
    assert top1 >= 0.80 and top2 >= 0.90


def test_the_evaluation_set_covers_every_theme_in_both_splits() -> None:
    rows = evaluation_set()
    assert len(rows) >= 300 and len({r.query for r in rows}) == len(rows)
    for slug in SLUGS:
        mine = [r for r in rows if r.theme == slug]
        assert len(mine) >= 15 and {r.split for r in mine} == {"dev", "test"}


def test_a_fresh_database_without_the_table_uses_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_table(*_args: object, **_kwargs: object) -> None:
        raise DatabaseError("no such table: assist_theme")

    monkeypatch.setattr(Theme.objects, "order_by", no_table)
    assert [t.slug for t in clf.current_themes()] == SLUGS


@pytest.mark.django_db
def test_an_empty_table_uses_the_defaults() -> None:
    Theme.objects.all().delete()
    assert [t.slug for t in clf.current_themes()] == SLUGS


@pytest.mark.django_db
def test_the_agents_keywords_change_the_outcome() -> None:
    Theme.objects.all().delete()
    for position, theme in enumerate(clf.default_themes()):
        Theme.objects.create(slug=theme.slug, name=theme.name, description=theme.description,
                             keywords="\n".join(theme.keywords), position=position)
    query = "inscription au marathon de Belleroche"
    assert clf.classify([query])[0].theme == "sport"
    culture = Theme.objects.get(slug="culture-loisirs")
    culture.keywords += "\nmarathon de Belleroche\ninscription au marathon"
    culture.save()
    sport = Theme.objects.get(slug="sport")
    sport.keywords = "\n".join(k for k in sport.keyword_list() if "marathon" not in k)
    sport.save()
    assert clf.classify([query])[0].theme == "culture-loisirs"


@pytest.mark.django_db
def test_the_command_prints_one_json_object_per_query(tmp_path: Path) -> None:
    Theme.objects.all().delete()
    source = tmp_path / "requetes.txt"
    source.write_text("cantine tarif\n\n  \nhoraires piscine\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["assist", "classify", "--file", str(source), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["query"], o["theme"]) for o in lines] == [("cantine tarif", "education-jeunesse"),
                                                         ("horaires piscine", "sport")]
    assert all(set(o) == {"query", "theme", "score", "alternatives"} and len(o["alternatives"]) == 2 for o in lines)
    table = CliRunner().invoke(main, ["assist", "classify", "--file", "-"], input="cantine tarif\n")
    assert table.exit_code == 0 and "education-jeunesse" in table.output


def test_a_missing_file_is_one_line() -> None:
    result = CliRunner().invoke(main, ["assist", "classify", "--file", "/nonexistent/requetes.txt"])
    assert result.exit_code == 2
    assert "No such file" in result.output and len(result.output.strip().splitlines()) == 1
