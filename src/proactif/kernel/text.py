"""Text normalisation shared by search, matching and imports."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

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


MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")
DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def date_fr(day: date, weekday: bool = False) -> str:
    """'14 mars 2030' (or 'jeudi 14 mars 2030'); the 1st is written '1er'."""
    text = f"{'1er' if day.day == 1 else day.day} {MONTHS_FR[day.month - 1]} {day.year}"
    return f"{DAYS_FR[day.weekday()]} {text}" if weekday else text


NNBSP, NBSP = "\u202f", "\u00a0"


def number_fr(value: float, decimals: int = 0) -> str:
    """« 1 620,18 »: thousands grouped by a narrow no-break space, a decimal comma (SMS turn the space plain)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", NNBSP).replace(".", ",")


def euros(value: float, decimals: int = 0) -> str:
    """« 1 620,18 € », the sign held to its number by a no-break space."""
    return f"{number_fr(value, decimals)}{NBSP}€"


def count_fr(n: int, forms: str) -> str:
    """« aucune ligne créée », « 1 ligne créée », « 1 250 lignes créées » from « ligne créée|lignes créées|aucune
    ligne créée » (singular|plural|none; without the third form, none is « 0 » with the singular, as French has
    it)."""
    singular, plural, *none = forms.split("|")
    if n == 0 and none:
        return none[0]
    return f"{number_fr(n)} {singular if abs(n) < 2 else plural}"


def probability_fr(p: float) -> str:
    """A match probability as a reader can tell pairs apart: « 87,4 % », « 99,93 % », « plus de 99,99 % » (never
    « 100 % », which a probability of linkage is not)."""
    if p >= 0.9999:
        return f"plus de 99,99{NBSP}%"
    digits = 2 if p >= 0.99 else 1
    return f"{p * 100:.{digits}f}".replace(".", ",") + f"{NBSP}%"
