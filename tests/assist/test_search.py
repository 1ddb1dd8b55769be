"""The public search (issue 19): the French analysis (folding, stemming, stop words, apostrophes, typos) and the
engine on a handful of pages, on the test run's database — hostile queries included, which must never fail."""

from __future__ import annotations

from typing import Any

import pytest

from proactif.assist import _analysis as analysis
from proactif.assist import _search

# --- analysis ------------------------------------------------------------------------------------------------


def test_folding_drops_accents_ligatures_and_case() -> None:
    assert analysis.fold("Crèche ÉLÈVE Œuvre Noël") == "creche eleve oeuvre noel"


@pytest.mark.parametrize(("one", "other"), [
    ("inscriptions", "inscription"), ("crèche", "creche"), ("écoles", "ecole"), ("électorales", "électoral"),
    ("Déchèterie", "decheterie"), ("renouvellement", "renouveler"),
])
def test_stemming_after_folding_makes_forms_equal(one: str, other: str) -> None:
    assert analysis.analyse(one) == analysis.analyse(other)


def test_stop_words_apostrophes_and_hyphens() -> None:
    assert analysis.words("L'inscription à la crèche de l’école") == ["inscription", "creche", "ecole"]
    assert analysis.words("Saint-Roch, rendez-vous") == ["saint", "roch", "rendez"]
    assert analysis.words("de la et pour") == []


def test_the_season_ete_is_not_a_stop_word() -> None:
    assert analysis.words("centre de loisirs été") == ["centre", "loisirs", "ete"]


def test_typo_distance_depends_on_length() -> None:
    assert analysis.max_distance("cni") == 0
    assert analysis.max_distance("creche") == 1
    assert analysis.max_distance("inscription") == 2
    assert analysis.max_distance("2027") == 0


def test_nearest_words_within_distance_most_frequent_first() -> None:
    vocabulary = [("inscription", 3), ("inscriptions", 9), ("creche", 2), ("cloche", 5)]
    assert analysis.nearest("inscripton", vocabulary) == ["inscription"]
    assert analysis.nearest("crehce", vocabulary) == ["creche"]  # a swap counts as one edit
    assert analysis.nearest("crxxhe", vocabulary) == []
    assert analysis.nearest("cre", vocabulary) == []  # short words are never corrected


def test_query_slots_correct_unknown_words_and_expand_abbreviations() -> None:
    vocabulary = {"inscription": 3, "creche": 2}
    slots = analysis.query_slots("Inscripton crèche CNI", lambda word, stem: word in vocabulary,
                                 lambda word: vocabulary.items())
    assert [slot.word for slot in slots] == ["inscripton", "creche", "cni"]
    assert slots[0].corrected and slots[0].alternatives[0].words == ("inscription",)
    assert not slots[1].corrected and slots[1].alternatives[0].stems == ("crech",)
    assert slots[2].alternatives[1].words == ("carte", "nationale", "identite")


def test_a_known_stem_is_not_corrected() -> None:
    slots = analysis.query_slots("inscriptions", lambda word, stem: stem == "inscript", lambda word: [("x", 1)])
    assert not slots[0].corrected and slots[0].alternatives[0].words == ("inscriptions",)


# --- engine --------------------------------------------------------------------------------------------------

PAGES = [
    (1, "Inscription à la crèche", "crèche, mode de garde, petite enfance", "Préinscrire votre enfant dans une "
     "crèche municipale.", "La commission d'attribution des places en crèche se réunit chaque printemps.",
     "famille-enfance"),
    (2, "Carte nationale d'identité : demande et renouvellement", "cni, papiers", "Pré-demande en ligne, "
     "rendez-vous en mairie.", "Faites votre pré-demande sur le site de l'ANTS puis prenez rendez-vous.",
     "etat-civil-papiers"),
    (3, "Inscription sur les listes électorales", "voter, élections", "Vous pouvez vous inscrire toute l'année.",
     "L'inscription est possible jusqu'au sixième vendredi précédant le scrutin.", "vie-associative-citoyenne"),
    (4, "Déchèterie de la route de Vaux", "déchets verts, gravats, horaires", "Horaires et déchets acceptés.",
     "La déchèterie accueille les habitants avec un justificatif de domicile.", "dechets-proprete"),
    (5, "Inscription à l'école maternelle", "école, rentrée, scolarité", "Inscrire votre enfant à l'école.",
     "L'inscription scolaire se fait en mairie puis à l'école.", "education-jeunesse famille-enfance"),
]


@pytest.fixture
def pages(db: None) -> list[Any]:
    from proactif.assist.models import SearchEntry

    SearchEntry.objects.all().delete()  # the test database's demo site out of the way (rolled back after the test)
    _search.rebuild()
    rows = SearchEntry.objects.bulk_create([
        SearchEntry(page_id=page_id, url=f"/site/page-{page_id}/", kind="demarche", title=title, keywords=keywords,
                    summary=summary, body=body, themes=themes)
        for page_id, title, keywords, summary, body, themes in PAGES])
    assert _search.index(rows) == len(rows)
    return rows


def first(query: str, **options: Any) -> int | None:
    hits = _search.search(query, **options)
    return hits[0].page_id if hits else None


@pytest.mark.parametrize(("query", "page_id"), [
    ("inscription crèche", 1), ("inscriptions creche", 1), ("inscripton crehce", 1), ("CNI", 2),
    ("carte d'identite", 2), ("s'inscrire pour voter", 3), ("listes electorales", 3), ("decheterie", 4),
    ("dechetterie horaires", 4), ("inscription école", 5),
])
def test_finds_the_page(pages: list[Any], query: str, page_id: int) -> None:
    assert first(query) == page_id


def test_hit_carries_the_page_and_a_highlighted_snippet(pages: list[Any]) -> None:
    hit = _search.search("crèche <script>")[0]
    assert (hit.url, hit.kind, hit.themes) == ("/site/page-1/", "demarche", ["famille-enfance"])
    assert "<mark>crèche</mark>" in hit.snippet and "<script>" not in hit.snippet and hit.score > 0


def test_theme_filter(pages: list[Any]) -> None:
    assert {hit.page_id for hit in _search.search("inscription", theme="famille-enfance")} == {1, 5}
    assert _search.search("inscription", theme="x' OR 1=1 --") == []


def test_reindex_and_remove(pages: list[Any]) -> None:
    from proactif.assist.models import SearchEntry

    SearchEntry.objects.filter(page_id=4).update(title="Recyclerie de la route de Vaux", body="", keywords="",
                                                  summary="Réemploi des objets.")
    _search.index([4])
    assert first("recyclerie") == 4 and first("déchèterie") is None
    assert first("recycleri") == 4  # the new word is in the typo layer's vocabulary at once
    assert _search.remove([4, 99]) == 1
    assert first("recyclerie") is None
    SearchEntry.objects.filter(page_id=1).delete()
    _search.index([1])  # an id without its row leaves the index
    assert first("crèche") is None
    assert counts() == (3, 0)
    assert _search.rebuild() == 4  # every SearchEntry row: page 4 left the index, not the table
    assert counts() == (4, 0)


def counts() -> tuple[int, int]:
    """The page count the vocabulary keeps, and how many of its words no page has."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT df FROM assist_searchvocab WHERE word = '#docs'")
        docs = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM assist_searchvocab WHERE df <= 0 AND word NOT LIKE '#%%'")
        return docs, cursor.fetchone()[0]


@pytest.mark.parametrize("query", [
    "", "   ", "x" * 2000, "inscription " * 300, "de la et pour les", '"', '"crèche', "crèche*", "*", "NEAR(crèche",
    "NEAR(a b, 2)", "-crèche", "crèche -école", "title:crèche", ":", "' OR 1=1 --", "crèche'; DROP TABLE x; --",
    "AND OR NOT", "(((", "%", "_", "\\", "\x00", "😀 crèche", "carte & | ! <-> :*",
])
def test_hostile_queries_never_fail(pages: list[Any], query: str) -> None:
    hits = _search.search(query)
    assert isinstance(hits, list) and len(hits) <= 10


def test_limit_and_speed(pages: list[Any]) -> None:
    import time

    assert len(_search.search("inscription", limit=2)) == 2
    assert _search.search("inscription", limit=0) == []
    started = time.perf_counter()
    for _ in range(20):
        _search.search("inscripton creche ecole")
    assert (time.perf_counter() - started) / 20 < 0.05
