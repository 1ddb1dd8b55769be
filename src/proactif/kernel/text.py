"""Text normalisation shared by search, matching and imports."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_LIGATURES = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss"})


def search_key(value: str | None) -> str:
    """Upper-case, unaccented, punctuation folded to single spaces: 'Lefèvre-d’Orgeval' → 'LEFEVRE D ORGEVAL'."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return _NON_ALNUM.sub(" ", ascii_only).strip()


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (for index range scans)."""
    if not prefix:
        raise ValueError("empty prefix")
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
