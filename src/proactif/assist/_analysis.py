"""The public search's French analysis, pure Python (no Django): what a page's text and a resident's query become
before they meet the index.

The pipeline mirrors PostgreSQL's `french_unaccent` configuration (a copy of `french` with `unaccent` before
`french_stem`): lowercase, accents folded, then the Snowball French stemmer — folding BEFORE stemming, so that
« école », « ecole » and « écoles » all give `ecol` on both databases. On top of it, for queries only:

- a small list of French administrative abbreviations (SYNONYMS): « cni » also looks for « carte nationale
  d'identité »; it is general vocabulary of French town halls, not tuned to any page;
- the typo layer: a query word the index does not know (neither the word nor its stem) is replaced by the index
  words nearest to it — edit distance 1 for words of 4 to 7 letters, 2 for longer ones, a swap of two letters
  counting as one edit; shorter words are never corrected (too many neighbours to guess right).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from rapidfuzz.distance import OSA

# PostgreSQL's french.stop (Snowball's list), folded, without « été » (once folded it is also the season: people
# search « centre de loisirs été ») and with the few words of queries that never discriminate a page.
_STOP_LIST = """
au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais me meme mes moi mon ne nos notre nous
on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l a m n s t y
etee etees etes etant etante etants etantes suis es est sommes sont serai seras sera serons serez seront serais
serait serions seriez seraient etais etait etions etiez etaient fus fut fumes futes furent sois soit soyons soyez
soient fusse fusses fussions fussiez fussent ayant ayante ayantes ayants eu eue eues eus ai as avons avez ont
aurai auras aura aurons aurez auront aurais aurait aurions auriez auraient avais avait avions aviez avaient eut
eumes eutes eurent aie aies ait ayons ayez aient eusse eusses eussions eussiez eussent
les leurs comment quoi quel quelle quels quelles dont cette cet ca ici
"""
STOP_WORDS = frozenset(_STOP_LIST.split())

# Abbreviations residents type for what pages spell out (French administrations' common acronyms).
SYNONYMS: dict[str, str] = {
    "cni": "carte nationale d'identité",
    "apl": "aide personnalisée au logement",
    "apa": "allocation personnalisée d'autonomie",
    "caf": "caisse d'allocations familiales",
    "ccas": "centre communal d'action sociale",
    "rsa": "revenu de solidarité active",
    "pacs": "pacte civil de solidarité",
    "mdph": "maison départementale des personnes handicapées",
    "aah": "allocation aux adultes handicapés",
    "ehpad": "établissement d'hébergement pour personnes âgées dépendantes",
    "plu": "plan local d'urbanisme",
    "ants": "agence nationale des titres sécurisés",
    "cpam": "caisse primaire d'assurance maladie",
    "pmr": "personnes à mobilité réduite",
    "rdv": "rendez-vous",
    "alsh": "accueil de loisirs sans hébergement",
    "tfpb": "taxe foncière",
}

MAX_QUERY_CHARS = 200  # a longer query is cut: beyond a dozen words nobody is searching any more
MAX_QUERY_WORDS = 12
MAX_TYPO_ALTERNATIVES = 3
TYPO_WEIGHT = 0.8  # a corrected word counts a little less than a word typed right
SYNONYM_WEIGHT = 0.9

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_WORD = re.compile(r"[a-z0-9]+")
_stemmer = snowballstemmer.stemmer("french")


def fold(text: str) -> str:
    """Lowercase without accents or ligatures (« Œuvre Élève » → « oeuvre eleve »), like PostgreSQL's unaccent."""
    text = text.lower().translate(_APOSTROPHES).translate(_LIGATURES)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of `text`, stop words and single letters out. Apostrophes and hyphens separate words
    (« l'école » → « ecole », « Saint-Roch » → « saint », « roch »)."""
    return [w for w in _WORD.findall(fold(text)) if len(w) > 1 and w not in STOP_WORDS]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Snowball French on a folded word (what `french_stem` does after `unaccent`)."""
    return str(_stemmer.stemWord(word))


def analyse(text: str) -> list[str]:
    """The stems of `text` in order: what the index stores."""
    return [stem(w) for w in words(text)]


def max_distance(word: str) -> int:
    """How many edits the typo layer allows on a word: none under 4 letters, 1 up to 7, 2 from 8."""
    if len(word) < 4 or not word.isalpha():
        return 0
    return 1 if len(word) <= 7 else 2


def nearest(word: str, candidates: Iterable[tuple[str, int]]) -> list[str]:
    """The candidate words (with their document frequency) nearest to `word` within `max_distance`: those at the
    smallest distance, the most frequent first, at most MAX_TYPO_ALTERNATIVES. Deterministic (ties by word)."""
    limit = max_distance(word)
    if not limit:
        return []
    scored = []
    for candidate, df in candidates:
        if abs(len(candidate) - len(word)) > limit or candidate == word:
            continue
        distance = OSA.distance(word, candidate, score_cutoff=limit)
        if distance <= limit:
            scored.append((distance, -df, candidate))
    if not scored:
        return []
    best = min(d for d, _, _ in scored)
    return [c for d, _, c in sorted(scored) if d == best][:MAX_TYPO_ALTERNATIVES]


@dataclass(frozen=True)
class Alternative:
    """One way a query word can be found in a page: its folded words (several for an expanded abbreviation, all
    needed), their stems, and how much a match counts."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    weight: float = 1.0


@dataclass
class Slot:
    """A word of the query and the alternatives that satisfy it (itself, its corrections, its expansion)."""

    word: str
    alternatives: list[Alternative] = field(default_factory=list)
    corrected: bool = False


def query_slots(query: str, known: Callable[[str, str], bool],
                candidates: Callable[[str], Iterable[tuple[str, int]]]) -> list[Slot]:
    """The query as slots. `known(word, stem)` says whether the index has the word or its stem; `candidates(word)`
    gives index words (with their document frequency) that may be near `word` — the engine asks its database,
    the choice among them is made here, the same way on every database."""
    slots: list[Slot] = []
    seen: set[str] = set()
    for word in words(query[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]:
        if word in seen:
            continue
        seen.add(word)
        slot = Slot(word)
        own = stem(word)
        if known(word, own) or not max_distance(word):
            slot.alternatives.append(Alternative((word,), (own,)))
        else:
            fixes = nearest(word, candidates(word))
            slot.corrected = bool(fixes)
            for fix in fixes or [word]:
                alternative = Alternative((fix,), (stem(fix),), TYPO_WEIGHT if fixes else 1.0)
                if alternative.stems not in [a.stems for a in slot.alternatives]:
                    slot.alternatives.append(alternative)
        if word in SYNONYMS:
            expansion = tuple(words(SYNONYMS[word]))
            slot.alternatives.append(Alternative(expansion, tuple(stem(w) for w in expansion), SYNONYM_WEIGHT))
        slots.append(slot)
    return slots
