"""Cookies the CNIL way (délibération 2020-091, lignes directrices « cookies et autres traceurs »).

- The exempt audience measurement (counts by day and page, `_audience`) needs no consent and sets no cookie.
- Personalisation from inferred interests needs an opt-in: nothing is inferred until the visitor accepts.
- Refusing is one click, like accepting, from the first screen; the choice can be changed from every page (the
  footer's « Gestion des cookies »).
- Each choice is a proof row (`ConsentProof`: the banner's version, each purpose's answer, when) under a random
  identifier the visitor's cookie carries — no address, no browser fingerprint — and is asked again after six
  months (`VALIDITY`), or when the banner's version changes. Earlier proofs are kept: they prove what was
  answered when.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse

from proactif.assist.models import ConsentProof
from proactif.kernel import clock

COOKIE = "proactif_consentement"
SALT = "assist.consentement"
VERSION = "2026-12"  # change it when a purpose is added or reworded: everyone is asked again
VALIDITY = timedelta(days=182)  # six months, then the banner comes back (CNIL's recommendation)
COOKIE_AGE = timedelta(days=395)  # 13 months at most for the cookie itself
PROOF_RETENTION = timedelta(days=5 * 365)  # the proof outlives the choice: five years after it lapses
PURPOSES = {
    "personnalisation": ("Personnalisation du site",
                         "Ordonner l'accueil et les rubriques selon les thèmes que vous consultez. Sans votre "
                         "accord, le site est ordonné selon la saison, les alertes en cours et les échéances."),
}


@dataclass(frozen=True)
class Decision:
    consent_id: str
    proof_id: int
    choices: dict[str, bool]
    decided_at: datetime
    expires_at: datetime

    def allows(self, purpose: str) -> bool:
        return bool(self.choices.get(purpose))


def current(request: HttpRequest) -> Decision | None:
    """The visitor's valid choice, or None: never asked, the cookie forged or from another version, or the six
    months past (the proof stays, the banner comes back)."""
    cached = getattr(request, "_consent_decision", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    decision = _read(request.COOKIES.get(COOKIE, ""))
    request._consent_decision = decision  # type: ignore[attr-defined]
    return decision


def _read(value: str) -> Decision | None:
    if not value:
        return None
    try:
        consent_id, proof_id = signing.loads(value, salt=SALT)
        if not ConsentProof.objects.filter(pk=int(proof_id), consent_id=str(consent_id)).exists():
            return None
        # the visitor's latest answer holds, whichever of their cookies comes back (an older one replayed)
        proof = ConsentProof.objects.filter(consent_id=str(consent_id)).order_by("-pk").first()
    except (signing.BadSignature, ValueError, TypeError, OverflowError):
        return None
    if proof is None or proof.version != VERSION or proof.withdrawn_at is not None or proof.expires_at <= clock.now():
        return None
    return Decision(proof.consent_id, proof.pk, dict(proof.choices), proof.decided_at, proof.expires_at)


def parse_choices(data: Any) -> dict[str, bool]:
    """The form's answers: « tout » = accepter | refuser, else one field per purpose (« oui » | « non »).
    A purpose not answered, or answered both ways (a field sent twice), is refused: consent is never presumed."""
    def answers(field: str) -> set[str]:
        return set(data.getlist(field)) if hasattr(data, "getlist") else {data.get(field, "")} - {""}

    everything = answers("tout")
    if everything:
        accepted = everything == {"accepter"}
        return {purpose: accepted for purpose in PURPOSES}
    return {purpose: answers(purpose) == {"oui"} for purpose in PURPOSES}


def record(request: HttpRequest, choices: dict[str, bool], response: HttpResponse) -> ConsentProof:
    """Keep the visitor's choice with its proof and give their browser the cookie that points at it."""
    previous = _previous_id(request.COOKIES.get(COOKIE, ""))
    now = clock.now()
    proof = ConsentProof.objects.create(consent_id=previous or secrets.token_hex(16), version=VERSION,
                                        choices={p: bool(choices.get(p)) for p in PURPOSES}, decided_at=now,
                                        expires_at=now + VALIDITY)
    response.set_cookie(COOKIE, signing.dumps([proof.consent_id, proof.pk], salt=SALT),
                        max_age=int(COOKIE_AGE.total_seconds()), httponly=True, samesite="Lax",
                        secure=request.is_secure())
    return proof


def _previous_id(value: str) -> str | None:
    """The same visitor's identifier across their choices (the history of their proofs), whatever their age."""
    try:
        consent_id, _ = signing.loads(value, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return str(consent_id) if isinstance(consent_id, str) and len(consent_id) == 32 else None


def purge() -> int:
    """Proofs whose choice lapsed more than `PROOF_RETENTION` ago."""
    deleted, _ = ConsentProof.objects.filter(expires_at__lt=clock.now() - PROOF_RETENTION).delete()
    return deleted
