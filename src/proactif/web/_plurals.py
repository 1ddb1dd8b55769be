"""French plurals for the platform's own strings. Templates and code write their texts in French and ship no
catalogue for them, so `ngettext` finds no entry and Django falls back to English's rule (singular for 1 only):
« 0 abonnés », « 0 visites ». French takes the singular for 0 and 1 (« 0 abonné », « 1 abonné », « 2 abonnés »).
This fallback, behind Django's own French catalogue, applies that rule to every string no catalogue holds."""

from __future__ import annotations

import gettext


class FrenchPlurals(gettext.NullTranslations):
    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:  # type: ignore[override]
        return msgid1 if abs(n) < 2 else msgid2

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:  # type: ignore[override]
        return msgid1 if abs(n) < 2 else msgid2


def install(language: str) -> None:
    """Behind the catalogue of `language` (the platform's, French), once per process."""
    from django.utils.translation import trans_real

    catalogue = trans_real.translation(language)
    fallback = catalogue
    while getattr(fallback, "_fallback", None) is not None:
        if isinstance(fallback._fallback, FrenchPlurals):
            return
        fallback = fallback._fallback
    catalogue.add_fallback(FrenchPlurals())
