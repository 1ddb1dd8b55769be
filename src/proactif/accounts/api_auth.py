"""API authentication: `Authorization: Bearer pf_live_…` API keys, or an agent's session (with CSRF)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from proactif.accounts import services as accounts
from proactif.accounts.domain import SCOPES, Access, AccessDenied, Actor, access_for


@dataclass(frozen=True)
class Caller:
    actor: Actor
    scopes: frozenset[str]
    kind: str  # live | test | session

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise HttpError(403, f"portée « {scope} » requise pour cette opération")

    def access(self, purpose: str | None) -> Access:
        try:
            return access_for(self.actor, purpose, sandbox=self.kind == "test")
        except AccessDenied as exc:
            raise HttpError(403, str(exc)) from exc


class ApiKeyAuth(HttpBearer):
    openapi_description = "Clé d'API d'un service : `Authorization: Bearer pf_live_…` ou `pf_test_…`."

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        client = accounts.authenticate_api_key(token)
        if client is None:
            return None
        return Caller(client.actor, client.scopes, client.kind)


class AgentSessionAuth(SessionAuth):
    """A logged-in agent using the API from the interface (CSRF checked on unsafe methods)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        if not request.user.is_authenticated:
            return None
        actor = accounts.actor_for_agent(request.user)  # type: ignore[arg-type]
        scopes = ({"registry:read", "registry:write", "journeys:read", "journeys:write"}
                  if actor.purposes - {"rgpd"} else set())
        if actor.is_dpo:
            scopes.add("audit:read")
        if actor.can_use("securite_publique"):
            scopes |= {"alerts:read", "alerts:write"}
        return Caller(actor, frozenset(scopes & set(SCOPES)), "session")


def caller(request: HttpRequest) -> Caller:
    auth = request.auth  # type: ignore[attr-defined]
    assert isinstance(auth, Caller)
    return auth
