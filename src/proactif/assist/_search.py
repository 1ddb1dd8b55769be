"""The public website's search (issue 19), on SQLite and on PostgreSQL, over `SearchEntry` rows.

The database finds candidates — FTS5 with bm25() on SQLite, the `french_unaccent` tsvector with ts_rank_cd() on
PostgreSQL — and ONE ranking in Python orders the best of them on both: it reads the candidates' analysed text and
scores it (BM25-like per field, weighted title > keywords > summary > body, times the share of the query's words
found, with a bonus for words found in the title). The statistics it uses (document frequencies) come from the
vocabulary table, identical on both databases, so both give the same first result; the database's own rank only
breaks exact ties. The typo layer (`_analysis.query_slots`) asks each database for near words: SQLite from the
vocabulary cached in the process (reloaded when a random token written at each indexing changes), PostgreSQL
through the trigram index.

Public functions: `index`, `remove`, `rebuild`, `search`, `evaluate`."""

from __future__ import annotations

import html
import math
import re
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from proactif.assist import _analysis as analysis

CANDIDATES = 60  # how many of the database's best the shared ranking re-orders
FIELDS = ("title", "keywords", "summary", "body")
FIELD_WEIGHTS = {"title": 3.0, "keywords": 2.5, "summary": 1.5, "body": 1.0}
FIELD_LENGTHS = {"title": 6.0, "keywords": 8.0, "summary": 14.0, "body": 140.0}  # typical analysed lengths
SQLITE_BM25 = "bm25(assist_searchfts, 10.0, 6.0, 3.0, 1.0, 0.0, 0.0)"
PG_CONFIG = "french_unaccent"
TRIGRAM_THRESHOLD = 0.1  # low: a swap in a short word leaves few trigrams in common; edit distance decides after
TOKEN, DOCS = "#token", "#docs"  # the vocabulary's two bookkeeping rows (words are [a-z0-9]+: no collision)
_SLUG = re.compile(r"^[a-z0-9-]{1,60}$")


@dataclass
class Hit:
    page_id: int
    url: str
    title: str
    summary: str
    kind: str
    themes: list[str]
    score: float
    snippet: str = ""  # HTML-escaped, the query's words in <mark>


# --- where the index lives -----------------------------------------------------------------------------------


class Store:
    """A connection the engine writes and reads the index through: Django's, or a raw SQLite one (`memory_store`,
    used to compare the two databases' rankings in one test run)."""

    def __init__(self, vendor: str, cursor: Callable[[], Any], key: str, atomic: Callable[[], Any]) -> None:
        self.vendor, self._cursor, self.key, self.atomic = vendor, cursor, key, atomic

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        with self._cursor() as cursor:
            yield cursor


def django_store() -> Store:
    from django.db import connection, transaction

    return Store(connection.vendor, connection.cursor, f"{connection.alias}:{connection.settings_dict['NAME']}",
                 transaction.atomic)


class _SqliteCursor:
    """A raw sqlite3 cursor that takes Django's %s placeholders."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._cursor = connection.cursor()

    def __enter__(self) -> _SqliteCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql.replace("%s", "?"), params)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        self._cursor.executemany(sql.replace("%s", "?"), params)

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()


def memory_store() -> Store:
    """An empty index in an in-memory SQLite database, with the schema of migration 0002."""
    from importlib import import_module

    schema = import_module("proactif.assist.migrations.0002_search").SQLITE
    connection = sqlite3.connect(":memory:", isolation_level=None)
    for sql in schema:
        connection.execute(sql)

    @contextmanager
    def atomic() -> Iterator[None]:
        connection.execute("BEGIN")
        try:
            yield
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    return Store("sqlite", lambda: _SqliteCursor(connection), f"memory:{id(connection)}", atomic)


# --- indexing ------------------------------------------------------------------------------------------------


@dataclass
class Document:
    """What the index takes of a page."""

    page_id: int
    title: str
    keywords: str = ""
    summary: str = ""
    body: str = ""
    themes: str = ""


def index(entries: Iterable[Any], store: Store | None = None) -> int:
    """Index (or re-index) SearchEntry rows, given as rows or page ids; an id without a row leaves the index.
    Returns how many pages are indexed."""
    from proactif.assist.models import SearchEntry

    rows: list[Any] = []
    ids: list[int] = []
    for entry in entries:
        (ids.append(int(entry)) if isinstance(entry, int) else rows.append(entry))
    if ids:
        found = list(SearchEntry.objects.filter(page_id__in=ids))
        rows += found
        missing = set(ids) - {row.page_id for row in found}
        if missing:
            remove(missing, store)
    docs = [Document(row.page_id, row.title, row.keywords, row.summary, row.body, row.themes) for row in rows]
    return index_documents(docs, store)


def index_documents(docs: Sequence[Document], store: Store | None = None) -> int:
    store = store or django_store()
    if not docs:
        return 0
    with store.atomic(), store.cursor() as cursor:
        added = sum(_write(store, cursor, doc) for doc in docs)
        _finish(store, cursor, added)
    return len(docs)


def remove(page_ids: Iterable[int], store: Store | None = None) -> int:
    """Take pages out of the index (unpublished or deleted). Returns how many were in it."""
    store = store or django_store()
    removed = 0
    with store.atomic(), store.cursor() as cursor:
        for page_id in {int(p) for p in page_ids}:
            removed += _delete(store, cursor, page_id)
        _finish(store, cursor, -removed)
    return removed


def rebuild(store: Store | None = None) -> int:
    """Index every SearchEntry from scratch."""
    from proactif.assist.models import SearchEntry

    store = store or django_store()
    with store.atomic():
        with store.cursor() as cursor:
            cursor.execute("DELETE FROM assist_searchvocab")
            cursor.execute(f"DELETE FROM {_doc_table(store)}")
        total = 0
        batch: list[Document] = []
        for row in SearchEntry.objects.order_by("page_id").iterator(chunk_size=200):
            batch.append(Document(row.page_id, row.title, row.keywords, row.summary, row.body, row.themes))
            if len(batch) == 200:
                total += index_documents(batch, store)
                batch = []
        total += index_documents(batch, store)
        if not total:
            with store.cursor() as cursor:
                _finish(store, cursor, 0)
    return total


def _doc_table(store: Store) -> str:
    return "assist_searchfts" if store.vendor == "sqlite" else "assist_searchdoc"


def _id_column(store: Store) -> str:
    return "rowid" if store.vendor == "sqlite" else "page_id"


def _delete(store: Store, cursor: Any, page_id: int) -> int:
    """Delete a page's row and take its words out of the vocabulary's counts."""
    cursor.execute(f"SELECT words FROM {_doc_table(store)} WHERE {_id_column(store)} = %s", [page_id])
    row = cursor.fetchone()
    if row is None:
        return 0
    cursor.execute(f"DELETE FROM {_doc_table(store)} WHERE {_id_column(store)} = %s", [page_id])
    words = [[w] for w in row[0].split()]
    cursor.executemany("UPDATE assist_searchvocab SET df = df - 1 WHERE word = %s", words)
    cursor.executemany("DELETE FROM assist_searchvocab WHERE word = %s AND df <= 0", words)
    return 1


def _write(store: Store, cursor: Any, doc: Document) -> int:
    """(Re)write a page's row and count its words in the vocabulary; 1 if the page is new to the index."""
    existed = _delete(store, cursor, doc.page_id)
    texts = {name: (getattr(doc, name) or "").replace("\x00", "") for name in FIELDS}  # PostgreSQL refuses NUL
    analysed = {name: " ".join(analysis.analyse(text)) for name, text in texts.items()}
    words = sorted({w for text in texts.values() for w in analysis.words(text) if len(w) <= 100})
    themes = " ".join(doc.themes.split())
    if store.vendor == "sqlite":
        cursor.execute("INSERT INTO assist_searchfts (rowid, title, keywords, summary, body, words, themes) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                       [doc.page_id, *analysed.values(), " ".join(words), themes])
    else:
        weights = zip(FIELDS, "ABCD", strict=True)
        document = " || ".join(f"setweight(to_tsvector('{PG_CONFIG}', %s), '{w}')" for _, w in weights)
        cursor.execute("INSERT INTO assist_searchdoc (page_id, title, keywords, summary, body, words, themes, "
                       f"document) VALUES (%s, %s, %s, %s, %s, %s, %s, {document})",
                       [doc.page_id, *analysed.values(), " ".join(words), themes, *texts.values()])
    cursor.executemany("INSERT INTO assist_searchvocab (word, stem, df) VALUES (%s, %s, 1) "
                       "ON CONFLICT (word) DO UPDATE SET df = assist_searchvocab.df + 1",
                       [[w, analysis.stem(w)] for w in words])
    return 1 - existed


def _finish(store: Store, cursor: Any, added: int) -> None:
    """After a change: count the pages (once from the table, then incrementally: no scan at each publication) and
    write a new random token — the SQLite vocabulary cache of every process sees it and reloads; a token rather
    than a counter, so that a rolled-back transaction never leaves a cache believing it is current."""
    cursor.execute("SELECT df FROM assist_searchvocab WHERE word = %s", [DOCS])
    row = cursor.fetchone()
    if row is None:
        cursor.execute(f"SELECT COUNT(*) FROM {_doc_table(store)}")
        cursor.execute("INSERT INTO assist_searchvocab (word, stem, df) VALUES (%s, '#', %s)",
                       [DOCS, cursor.fetchone()[0]])
    else:
        cursor.execute("UPDATE assist_searchvocab SET df = df + %s WHERE word = %s", [added, DOCS])
    cursor.execute("INSERT INTO assist_searchvocab (word, stem, df) VALUES (%s, %s, 0) "
                   "ON CONFLICT (word) DO UPDATE SET stem = excluded.stem", [TOKEN, "#" + secrets.token_hex(8)])


# --- vocabulary ----------------------------------------------------------------------------------------------


@dataclass
class _Vocabulary:
    """The SQLite process cache: every word with its stem and document frequency."""

    token: str = ""
    words: dict[str, tuple[str, int]] = field(default_factory=dict)
    stems: dict[str, int] = field(default_factory=dict)
    by_length: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    docs: int = 0


_vocabularies: dict[str, _Vocabulary] = {}


def _sqlite_vocabulary(store: Store, cursor: Any) -> _Vocabulary:
    cursor.execute("SELECT stem FROM assist_searchvocab WHERE word = %s", [TOKEN])
    row = cursor.fetchone()
    token = row[0] if row else ""
    cached = _vocabularies.get(store.key)
    if cached is not None and cached.token == token and token:
        return cached
    vocabulary = _Vocabulary(token)
    cursor.execute("SELECT word, stem, df FROM assist_searchvocab")
    for word, stem, df in cursor.fetchall():
        if word == DOCS:
            vocabulary.docs = df
        elif not word.startswith("#"):
            vocabulary.words[word] = (stem, df)
            vocabulary.stems[stem] = vocabulary.stems.get(stem, 0) + df
            vocabulary.by_length.setdefault(len(word), []).append((word, df))
    _vocabularies[store.key] = vocabulary
    return vocabulary


class _Lookup:
    """What the query's analysis and the ranking ask of the vocabulary, answered per database."""

    def __init__(self, store: Store, cursor: Any, query_words: list[str]) -> None:
        self.store, self.cursor = store, cursor
        if store.vendor == "sqlite":
            self.vocabulary = _sqlite_vocabulary(store, cursor)
            self.docs = self.vocabulary.docs
            return
        stems = [analysis.stem(w) for w in query_words]
        cursor.execute("SELECT word, stem, df FROM assist_searchvocab WHERE word = ANY(%s) OR stem = ANY(%s) "
                       "OR word = %s", [query_words, stems, DOCS])
        rows = cursor.fetchall()
        self.known_words = {w for w, _, _ in rows}
        self.known_stems = {s for _, s, _ in rows}
        self.docs = next((df for w, _, df in rows if w == DOCS), 0)
        self.trigram_ready = False

    def known(self, word: str, stem: str) -> bool:
        if self.store.vendor == "sqlite":
            return word in self.vocabulary.words or stem in self.vocabulary.stems
        return word in self.known_words or stem in self.known_stems

    def candidates(self, word: str) -> list[tuple[str, int]]:
        limit = analysis.max_distance(word)
        if self.store.vendor == "sqlite":
            return [pair for n in range(len(word) - limit, len(word) + limit + 1)
                    for pair in self.vocabulary.by_length.get(n, [])]
        if not self.trigram_ready:
            self.cursor.execute(f"SET pg_trgm.similarity_threshold = {TRIGRAM_THRESHOLD}")
            self.trigram_ready = True
        self.cursor.execute("SELECT word, df FROM assist_searchvocab WHERE lower(word) %% %s AND length(word) "
                            "BETWEEN %s AND %s ORDER BY similarity(lower(word), %s) DESC, word LIMIT 200",
                            [word, len(word) - limit, len(word) + limit, word])
        return [(w, df) for w, df in self.cursor.fetchall()]

    def frequencies(self, stems: set[str]) -> dict[str, int]:
        if self.store.vendor == "sqlite":
            return {s: self.vocabulary.stems.get(s, 0) for s in stems}
        self.cursor.execute("SELECT stem, SUM(df) FROM assist_searchvocab WHERE stem = ANY(%s) GROUP BY stem",
                            [sorted(stems)])
        return {s: int(df) for s, df in self.cursor.fetchall()}


# --- searching -----------------------------------------------------------------------------------------------


def rank(query: str, limit: int = 10, theme: str | None = None,
         store: Store | None = None) -> list[tuple[int, float, set[str]]]:
    """The best pages for `query`: (page id, score, the stems that matched), best first."""
    store = store or django_store()
    if theme is not None and not _SLUG.match(theme):
        return []
    query_words = analysis.words(query[:analysis.MAX_QUERY_CHARS])[:analysis.MAX_QUERY_WORDS]
    if not query_words or limit <= 0:
        return []
    with store.cursor() as cursor:
        lookup = _Lookup(store, cursor, query_words)
        slots = analysis.query_slots(query, lookup.known, lookup.candidates)
        alternatives = [a for slot in slots for a in slot.alternatives]
        if not alternatives:
            return []
        candidates = _candidates(store, cursor, alternatives, theme)
        if not candidates:
            return []
        frequencies = lookup.frequencies({s for a in alternatives for s in a.stems})
    docs = max(lookup.docs, len(candidates), 1)
    idf = {s: math.log(1 + (docs - df + 0.5) / (df + 0.5)) for s, df in frequencies.items()}
    scored = []
    for position, (page_id, fields) in enumerate(candidates):
        score, matched = _score(slots, fields, idf)
        if score > 0:
            scored.append((-score, position, page_id, matched))
    scored.sort()
    return [(page_id, -score, matched) for score, _, page_id, matched in scored[:limit]]


def _candidates(store: Store, cursor: Any, alternatives: list[analysis.Alternative],
                theme: str | None) -> list[tuple[int, dict[str, list[str]]]]:
    """The database's best pages for any of the alternatives, its best first, with their analysed fields."""
    params: list[Any] = []
    if store.vendor == "sqlite":
        terms = sorted({" AND ".join(f'"{s}"' for s in a.stems) for a in alternatives})
        params.append(" OR ".join(f"({t})" for t in terms))
        where = " AND (' ' || themes || ' ') LIKE %s" if theme else ""
        params += [f"% {theme} %"] if theme else []
        cursor.execute(f"SELECT rowid, title, keywords, summary, body FROM assist_searchfts "
                       f"WHERE assist_searchfts MATCH %s{where} ORDER BY {SQLITE_BM25}, rowid LIMIT {CANDIDATES}",
                       params)
    else:
        phrases = sorted({" ".join(a.words) for a in alternatives})
        tsquery = " || ".join(f"plainto_tsquery('{PG_CONFIG}', %s)" for _ in phrases)
        params += phrases
        where = " AND (' ' || d.themes || ' ') LIKE %s" if theme else ""
        params += [f"% {theme} %"] if theme else []
        cursor.execute(f"SELECT d.page_id, d.title, d.keywords, d.summary, d.body FROM assist_searchdoc d, "
                       f"(SELECT {tsquery} AS q) t WHERE d.document @@ t.q{where} "
                       f"ORDER BY ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', d.document, t.q) DESC, d.page_id "
                       f"LIMIT {CANDIDATES}", params)
    return [(int(row[0]), {name: (text or "").split() for name, text in zip(FIELDS, row[1:], strict=True)})
            for row in cursor.fetchall()]


def _score(slots: list[analysis.Slot], fields: dict[str, list[str]],
           idf: dict[str, float]) -> tuple[float, set[str]]:
    """The shared ranking of one candidate: for each query word, its best alternative's BM25-like weight summed
    over the fields; the total times the share of query words found, plus a bonus for those in the title."""
    counts = {name: Counter(stems) for name, stems in fields.items()}
    norms = {name: 1 + 0.5 * (len(stems) / FIELD_LENGTHS[name] - 1) for name, stems in fields.items()}
    total, found, in_title = 0.0, 0, 0
    matched: set[str] = set()
    for slot in slots:
        best, best_title = 0.0, False
        for alternative in slot.alternatives:
            parts = []
            for stem in alternative.stems:
                tf = sum(FIELD_WEIGHTS[name] * counts[name][stem] / max(norms[name], 0.3) for name in FIELDS)
                parts.append(idf.get(stem, 0.0) * tf / (1.2 + tf) if tf else 0.0)
            if parts and all(parts):
                weight = alternative.weight * sum(parts) / len(parts)
                if weight > best:
                    best = weight
                    best_title = all(counts["title"][s] for s in alternative.stems)
                    matched.update(alternative.stems)
        total += best
        found += best > 0
        in_title += best_title
    if not found:
        return 0.0, matched
    coverage = found / len(slots)
    return total * (0.2 + 0.8 * coverage * coverage) * (1 + 0.3 * in_title / len(slots)), matched


def search(query: str, limit: int = 10, theme: str | None = None) -> list[Hit]:
    """The site's search: at most `limit` published pages for `query` (optionally of one theme), best first."""
    from proactif.assist.models import SearchEntry

    ranked = rank(query, limit, theme)
    entries = SearchEntry.objects.in_bulk([page_id for page_id, _, _ in ranked])
    return [Hit(entry.page_id, entry.url, entry.title, entry.summary, entry.kind, entry.themes.split(),
                round(score, 4), snippet(entry.summary, entry.body, matched))
            for page_id, score, matched in ranked if (entry := entries.get(page_id)) is not None]


_SENTENCE = re.compile(r"(?<=[.!?:])\s+|\n+")
_TOKEN = re.compile(r"\w+", re.UNICODE)


def snippet(summary: str, body: str, stems: set[str], length: int = 220) -> str:
    """The body's sentence with the most matched words (else the summary), HTML-escaped, words in <mark>."""
    def hits(sentence: str) -> int:
        return sum(analysis.stem(analysis.fold(w)) in stems for w in _TOKEN.findall(sentence))

    sentences = [s.strip() for s in _SENTENCE.split(body or "") if s.strip()]
    best = max(sentences, key=hits, default="")
    chosen = best if best and hits(best) else (summary or best)
    if len(chosen) > length:
        chosen = chosen[:length].rsplit(" ", 1)[0] + " …"
    out, last = [], 0
    for match in _TOKEN.finditer(chosen):
        out.append(html.escape(chosen[last:match.start()]))
        word = html.escape(match.group())
        out.append(f"<mark>{word}</mark>" if analysis.stem(analysis.fold(match.group())) in stems else word)
        last = match.end()
    out.append(html.escape(chosen[last:]))
    return "".join(out)


# --- evaluation ----------------------------------------------------------------------------------------------


def evaluate(queries: list[dict[str, Any]], store: Store | None = None, slug_ids: dict[str, int] | None = None,
             depth: int = 5) -> dict[str, Any]:
    """Recall@depth, overall and by kind (exact, typo, sans-accents), MRR, time per query and the failures of
    queries {"query", "expected", "kind"}. `expected` is a page id or a slug (`slug_ids` maps slugs to ids; by
    default the SearchEntry whose url ends in /<slug>/)."""
    if slug_ids is None:
        from proactif.assist.models import SearchEntry

        slug_ids = {entry.url.rstrip("/").rsplit("/", 1)[-1]: entry.page_id
                    for entry in SearchEntry.objects.only("page_id", "url")}
    by_kind: dict[str, list[int]] = {}
    reciprocal, failures, top1 = 0.0, [], {}
    started = time.perf_counter()
    for item in queries:
        expected = item["expected"]
        wanted = expected if isinstance(expected, int) else slug_ids.get(str(expected))
        ranked = [page_id for page_id, _, _ in rank(str(item["query"]), depth, store=store)]
        top1[str(item["query"])] = ranked[0] if ranked else None
        position = ranked.index(wanted) + 1 if wanted in ranked else 0
        by_kind.setdefault(str(item.get("kind", "exact")), []).append(1 if position else 0)
        reciprocal += 1 / position if position else 0.0
        if not position:
            failures.append({"query": item["query"], "expected": expected, "kind": item.get("kind"), "got": ranked})
    elapsed = time.perf_counter() - started
    count = len(queries)
    hits = sum(sum(values) for values in by_kind.values())
    return {
        "queries": count,
        "recall": hits / count if count else 0.0,
        "by_kind": {kind: {"queries": len(v), "recall": sum(v) / len(v)} for kind, v in sorted(by_kind.items())},
        "mrr": reciprocal / count if count else 0.0,
        "ms_per_query": 1000 * elapsed / count if count else 0.0,
        "failures": failures,
        "top1": top1,
    }
