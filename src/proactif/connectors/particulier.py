"""API Particulier v3 (DINUM) client: CAF/MSA quotient familial, RSA / prime d'activité / C2S / AAH / ASF
statuses, France Travail status and payments, student scholarship status.

Requests as the API expects them: `Authorization: Bearer <jeton>` (the FranceConnect access token instead in
the FranceConnect mode), the mandatory `recipient` SIRET, the identité pivot (`nomNaissance`, `prenoms[]`,
birth date, `sexeEtatCivil`, Insee codes of the country and commune of birth) or an identifier (France
Travail identifier, INE). Answers are `{"data", "links", "meta"}`; errors `{"errors": [{code, title, detail,
source, meta}]}`. 429 and 502/503/504 are retried with backoff (`Retry-After` or `RateLimit-Reset` first);
a circuit breaker stops calling an API that keeps failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from proactif.connectors import domain
from proactif.kernel import clock
from proactif.kernel.logging import get_logger

log = get_logger(__name__)

DSS = ("quotient_familial", "revenu_solidarite_active", "prime_activite", "complementaire_sante_solidaire",
       "allocation_adulte_handicape", "allocation_soutien_familial")


@dataclass(frozen=True)
class Operation:
    name: str
    paths: dict[str, str]  # call mode → path


OPERATIONS: dict[str, Operation] = {
    **{name: Operation(name, {"identite": f"/v3/dss/{name}/identite",
                              "france_connect": f"/v3/dss/{name}/france_connect"}) for name in DSS},
    "france_travail_statut": Operation("france_travail_statut",
                                       {"identifiant": "/v3/france_travail/statut/identifiant"}),
    "france_travail_indemnites": Operation("france_travail_indemnites",
                                           {"identifiant": "/v3/france_travail/indemnites/identifiant"}),
    "etudiant_boursier": Operation("etudiant_boursier", {"identite": "/v3/cnous/etudiant_boursier/identite",
                                                         "france_connect": "/v3/cnous/etudiant_boursier/france_connect",
                                                         "ine": "/v3/cnous/etudiant_boursier/ine"}),
}


@dataclass(frozen=True)
class Answer:
    operation: str
    mode: str
    data: dict[str, Any]
    cached_upstream: bool  # X-Response-Cached: the API answered from its own cache
    rate_limit: domain.RateLimit
    attempts: int


class Transport:
    """The HTTP exchange with retries and the circuit breaker, shared by both APIs' clients."""

    def __init__(self, base_url: str, *, api: str, timeout: float = 10.0, max_attempts: int = 4,
                 http: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 breaker: domain.CircuitBreaker | None = None):
        self.base_url = base_url.rstrip("/")
        self.api = api
        self.http = http or httpx.Client(timeout=timeout)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.breaker = breaker or domain.CircuitBreaker()
        self._lock = threading.Lock()

    def get(self, path: str, params: list[tuple[str, str]], headers: dict[str, str],
            context: domain.CallContext, operation: str) -> tuple[dict[str, Any], httpx.Headers, int]:
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                if not self.breaker.allows(time.monotonic()):
                    raise domain.ApiError(0, "circuit_ouvert", "API indisponible",
                                          f"{self.api} : trop d'échecs récents, appels suspendus")
            started = time.monotonic()
            try:
                response = self.http.get(f"{self.base_url}{path}", params=params, headers=headers)
            except httpx.HTTPError as exc:
                error = domain.ApiError(0, "reseau", "appel impossible", f"{type(exc).__name__}: {exc}"[:300])
                self._after(False, operation, context, 0, started, attempt, error.code)
                if attempt >= self.max_attempts:
                    raise error from None
                self.sleep(domain.backoff(attempt))
                continue
            limit = domain.rate_limit(dict(response.headers), clock.real_now().timestamp())
            if response.status_code == 200:
                self._after(True, operation, context, 200, started, attempt, "")
                return response.json(), response.headers, attempt
            retry_after = _retry_after(response.headers, limit)
            try:
                body = response.json()
            except ValueError:
                body = None
            error = domain.parse_error(response.status_code, body, retry_after)
            self._after(not error.temporary, operation, context, response.status_code, started, attempt, error.code)
            if not error.temporary or attempt >= self.max_attempts:
                raise error
            self.sleep(domain.backoff(attempt, hint=retry_after))

    def _after(self, ok: bool, operation: str, context: domain.CallContext, status: int, started: float,
               attempt: int, code: str) -> None:
        with self._lock:
            self.breaker.record(ok, time.monotonic())
        # Who, why and on what basis — never the content of the answer
        log.info("connector call", api=self.api, operation=operation, status=status, attempt=attempt,
                 error_code=code, purpose=context.purpose, legal_basis=context.legal_basis, actor=context.actor,
                 ms=round((time.monotonic() - started) * 1000))


def _retry_after(headers: httpx.Headers, limit: domain.RateLimit) -> float | None:
    value = headers.get("Retry-After")
    if value:
        try:
            return float(value)
        except ValueError:
            pass
    return limit.reset_seconds


class ApiParticulier:
    def __init__(self, transport: Transport, token: str, recipient: str):
        if not (recipient.isdigit() and len(recipient) == 14):
            raise ValueError(f"SIRET destinataire invalide : « {recipient} » (14 chiffres)")
        self.transport = transport
        self.token = token
        self.recipient = recipient

    def call(self, operation: str, context: domain.CallContext, *, identity: domain.Identity | None = None,
             identifier: str | None = None, france_connect_token: str | None = None,
             extra: dict[str, str] | None = None, no_cache: bool = False) -> Answer:
        """One call; the mode follows from what is given: an identity, an identifier (France Travail, INE)
        or a FranceConnect access token."""
        spec = OPERATIONS.get(operation)
        if spec is None:
            raise ValueError(f"opération inconnue : {operation} ({', '.join(sorted(OPERATIONS))})")
        params: list[tuple[str, str]] = [("recipient", self.recipient)]
        token = self.token
        if france_connect_token:
            mode, token = "france_connect", france_connect_token
        elif identity is not None:
            mode = "identite"
            params += _identity_params(operation, identity)
        elif identifier:
            mode = "ine" if operation == "etudiant_boursier" else "identifiant"
            params.append(("ine" if mode == "ine" else "identifiant", identifier))
        else:
            raise ValueError("indiquez une identité, un identifiant ou un jeton FranceConnect")
        if mode not in spec.paths:
            raise ValueError(f"{operation} ne s'appelle pas en mode {mode} ({', '.join(spec.paths)})")
        params += sorted((extra or {}).items())
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if no_cache:
            headers["Cache-Control"] = "no-cache"
        body, answer_headers, attempts = self.transport.get(spec.paths[mode], params, headers, context, operation)
        return Answer(operation, mode, body.get("data") or {}, answer_headers.get("X-Response-Cached") == "true",
                      domain.rate_limit(dict(answer_headers), clock.real_now().timestamp()), attempts)


def _identity_params(operation: str, identity: domain.Identity) -> list[tuple[str, str]]:
    params = identity.query()
    if operation == "etudiant_boursier":
        # CNOUS takes the commune of birth, not the country; birth date parts are required
        params = [(k, v) for k, v in params if k not in ("codeCogInseePaysNaissance", "nomUsage")]
    return params
