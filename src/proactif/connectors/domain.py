"""What the connectors know without I/O: the identité pivot, why a call is made, the APIs' error format,
their rate-limit headers, the backoff, and a circuit breaker.

Every call to another administration's API carries a `CallContext`: the legal basis (art. L114-8 CRPA for
proactive information), the purpose, the recipient SIRET and who asked (an agent or a job). It is logged
with the call — never the answer's content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

LEGAL_BASIS_PROACTIVE = "CRPA art. L114-8 II (loi 3DS, décrets 2023-361 et 2023-362)"


@dataclass(frozen=True)
class Identity:
    """The identité pivot API Particulier looks people up with."""

    nom_naissance: str
    prenoms: tuple[str, ...]
    sexe: str  # "M" | "F"
    date_naissance: date | None
    code_pays_naissance: str = "99100"  # Insee code of the country of birth (France: 99100)
    code_commune_naissance: str = ""  # Insee code of the commune of birth, for people born in France
    nom_usage: str = ""

    def key(self) -> str:
        """A stable, non-reversible key of the identity (the cache's key: no name stored in clear)."""
        raw = "|".join([self.nom_naissance.upper(), " ".join(self.prenoms).upper(), self.sexe,
                        self.date_naissance.isoformat() if self.date_naissance else "", self.code_pays_naissance,
                        self.code_commune_naissance])
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    def query(self) -> list[tuple[str, str]]:
        """The identity as API Particulier's query parameters (`prenoms[]` repeated)."""
        params = [("nomNaissance", self.nom_naissance.upper())]
        if self.nom_usage:
            params.append(("nomUsage", self.nom_usage.upper()))
        params += [("prenoms[]", p.upper()) for p in self.prenoms[:3]]
        if self.date_naissance:
            params += [("anneeDateNaissance", str(self.date_naissance.year)),
                       ("moisDateNaissance", str(self.date_naissance.month)),
                       ("jourDateNaissance", str(self.date_naissance.day))]
        params.append(("sexeEtatCivil", self.sexe))
        params.append(("codeCogInseePaysNaissance", self.code_pays_naissance))
        if self.code_pays_naissance == "99100" and self.code_commune_naissance:
            params.append(("codeCogInseeCommuneNaissance", self.code_commune_naissance))
        return params


@dataclass(frozen=True)
class CallContext:
    """Why a call is made and for whom: logged with every call."""

    purpose: str  # e.g. "rights.screening", "rights.take_up"
    actor: str  # the agent's e-mail or the job's name
    legal_basis: str = LEGAL_BASIS_PROACTIVE
    person_id: int | None = None


@dataclass
class ApiError(Exception):
    """An answer other than success, in the APIs' error format (`errors[].code/title/detail`)."""

    status: int
    code: str = ""
    title: str = ""
    detail: str = ""
    retry_after: float | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.code} {self.title}: {self.detail}".strip()

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def temporary(self) -> bool:
        return self.status in (429, 502, 503, 504) or self.status == 0


def parse_error(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return ApiError(status, str(first.get("code", "")), str(first.get("title", "")), str(first.get("detail", "")),
                        retry_after, errors)
    if isinstance(body, dict) and ("erreur" in body or "message" in body):  # API Impôt Particulier's format
        return ApiError(status, str(body.get("code", "")), str(body.get("erreur", "") or body.get("message", "")),
                        str(body.get("detail", "")), retry_after)
    return ApiError(status, title="réponse inattendue", retry_after=retry_after)


@dataclass(frozen=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    reset_seconds: float | None  # seconds until the window resets


def rate_limit(headers: dict[str, str], now_epoch: float) -> RateLimit:
    """RateLimit-Limit / -Remaining / -Reset (API Particulier sends the reset as an epoch timestamp)."""
    def number(name: str) -> float | None:
        value = headers.get(name) or headers.get(name.lower())
        try:
            return float(value) if value not in (None, "") else None
        except ValueError:
            return None

    reset = number("RateLimit-Reset")
    if reset is not None and reset > 10**9:  # an epoch, not a delay
        reset = max(0.0, reset - now_epoch)
    limit, remaining = number("RateLimit-Limit"), number("RateLimit-Remaining")
    return RateLimit(int(limit) if limit is not None else None, int(remaining) if remaining is not None else None,
                     reset)


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0, hint: float | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1`: the server's hint when it gives one, else exponential."""
    if hint is not None:
        return float(min(cap, max(0.0, hint)))
    return float(min(cap, base * 2 ** (attempt - 1)))


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one call through after `cooldown` seconds."""

    threshold: int = 5
    cooldown: float = 60.0
    failures: int = 0
    opened_at: float | None = None

    def allows(self, now: float) -> bool:
        return self.opened_at is None or now - self.opened_at >= self.cooldown

    def record(self, ok: bool, now: float) -> None:
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = now
