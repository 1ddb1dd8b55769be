"""How an API operation authenticates its caller, from the rule its capability declared for it.

- `api(scope)`: a key (`Authorization: Bearer pf_live_…` or `pf_test_…`) or an agent's session (CSRF checked on
  unsafe methods) holding the scope; no credentials → 401, credentials without the scope → 403;
- `webhook(verify, …)`: the provider's signature, checked by `verify` → 401 when it fails;
- `public(reason)`: no authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from proactif.accounts import services as accounts
from proactif.accounts.domain import Caller
from proactif.kernel.capabilities import ApiRule, PublicRule, Rule, WebhookRule


def _holding(caller: Caller | None, scope: str) -> Caller | None:
    if caller is not None and scope not in caller.scopes:
        raise HttpError(403, f"portée « {scope} » requise pour cette opération")
    return caller


class ApiKeyAuth(HttpBearer):
    openapi_description = "Clé d'API d'un service : `Authorization: Bearer pf_live_…` ou `pf_test_…`."

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        return _holding(accounts.authenticate_api_key(token), self.scope)


class AgentSessionAuth(SessionAuth):
    """A logged-in agent using the API from the interface: the scopes serving the agent's purposes."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        if not request.user.is_authenticated:
            return None
        return _holding(accounts.session_caller(request.user), self.scope)  # type: ignore[arg-type]


class WebhookAuth:
    """A provider's call: `verify(request, **path parameters)` raises on a bad signature."""

    def __init__(self, verify: Callable[..., Any]):
        self.verify = verify

    def __call__(self, request: HttpRequest) -> Any:
        kwargs = request.resolver_match.kwargs if request.resolver_match else {}
        try:
            self.verify(request, **kwargs)
        except HttpError:
            raise
        except Exception as exc:
            raise HttpError(401, str(exc) or "signature refusée") from None
        return True


def auth_for(rule: Rule) -> list[Any] | None:
    if isinstance(rule, ApiRule):
        return [ApiKeyAuth(rule.scope), AgentSessionAuth(rule.scope)]
    if isinstance(rule, WebhookRule):
        return [WebhookAuth(rule.verify)]
    if isinstance(rule, PublicRule):
        return None
    raise TypeError(f"an API operation takes an api, webhook or public rule, not {rule.kind}")
