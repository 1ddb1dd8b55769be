"""API Particulier v3 (DINUM) client: CAF/MSA quotient familial, RSA / prime d'activité / C2S / AAH / ASF
statuses, France Travail status and payments, student scholarship status.

Requests as the API expects them: `Authorization: Bearer <jeton>` (the FranceConnect access token instead in
the FranceConnect mode), the mandatory `recipient` SIRET, the identité pivot (`nomNaissance`, `prenoms[]`,
birth date, `sexeEtatCivil`, Insee codes of the country and commune of birth) or an identifier (France
Travail identifier). Answers are `{"data", "links", "meta"}`; errors `{"errors": [{code, title, detail,
source, meta}]}`. 429 and 502/503/504 are retried with backoff (`Retry-After` or `RateLimit-Reset` first);
a circuit breaker stops calling an API that keeps failing (`transport`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proactif.connectors import domain
from proactif.connectors._transport import Transport
from proactif.kernel import clock

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
    "etudiant_boursier": Operation("etudiant_boursier", {
        "identite": "/v3/cnous/etudiant_boursier/identite",
        "france_connect": "/v3/cnous/etudiant_boursier/france_connect"}),
}


@dataclass(frozen=True)
class Answer:
    operation: str
    mode: str
    data: dict[str, Any]
    cached_upstream: bool  # X-Response-Cached: the API answered from its own cache
    rate_limit: domain.RateLimit
    attempts: int


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
        """One call; the mode follows from what is given: an identity, an identifier (France Travail)
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
            mode = "identifiant"
            params.append(("identifiant", identifier))
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
