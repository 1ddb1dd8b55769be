"""Every page answers only to whom its declaration lets in.

The URL configuration is built from the capabilities' declarations, and each view carries the rule of its
route (`kernel.capabilities`). This middleware applies it before the view runs:

- an agent rule: a logged-in agent (else the login page) whose role and service's purposes the rule accepts
  (else 403); the view finds `request.actor` and `request.access` (the agent acting for the purpose the page
  accepts: the one chosen for the session when the page accepts it); a rule naming a token setting also lets in
  a request bearing that token (else 401 for a wrong one); an exclusive rule also wants the agent acting for
  one of its purposes (else 403 with a page offering to switch, when their service has it);
- a signed-link rule: a citizen who opened a valid link of that purpose in this browser (else the page the
  declaration names, 403); the view finds `request.citizen_link`;
- a public rule: anyone;
- the API's routes: each operation authenticates its caller by its own rule (`proactif.api`).

A route without a rule is refused (403) and logged: a declaration is missing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from proactif.accounts import services as accounts
from proactif.accounts.domain import PURPOSES, Access
from proactif.kernel.capabilities import AgentRule, PublicRule, SignedLinkRule, acting_purpose
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging

log = get_logger(__name__)


class AccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any,
                     view_kwargs: Any) -> HttpResponse | None:
        rule = getattr(view_func, "access_rule", None)
        if isinstance(rule, AgentRule):
            return _agent(request, rule)
        if isinstance(rule, SignedLinkRule):
            link = messaging.link_in_session(request.session, rule.link_purpose)
            if link is None:
                return render(request, rule.refusal or "web/lien_necessaire.html", status=403)
            request.citizen_link = link  # type: ignore[attr-defined]
            return None
        if isinstance(rule, (PublicRule, tuple)):  # a tuple: the API's operations' rules
            return None
        log.error("route without an access rule", path=request.path)
        raise PermissionDenied("Cette adresse n'est ouverte à personne : sa règle d'accès n'est pas déclarée.")


def _agent(request: HttpRequest, rule: AgentRule) -> HttpResponse | None:
    token = getattr(settings, rule.bearer_setting, None) if rule.bearer_setting else None
    presented = request.headers.get("Authorization", "")
    if token and presented.startswith("Bearer "):  # a machine (the Prometheus scraper), not a browser
        if hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            return None
        return HttpResponse("jeton invalide", status=401, content_type="text/plain; charset=utf-8")
    user = request.user
    if not user.is_authenticated:
        return HttpResponseRedirect(f"{reverse(settings.LOGIN_URL)}?next={quote(request.get_full_path())}")
    actor = accounts.actor_for_agent(user)  # type: ignore[arg-type]
    request.actor = actor  # type: ignore[attr-defined]
    if not rule.allows(actor.role, actor.purposes):
        raise PermissionDenied("Cette page relève d'un autre service ou d'un autre rôle.")
    chosen = request.session.get(accounts.SESSION_PURPOSE)
    if not rule.admits(actor.role, actor.purposes, chosen):
        return _other_purpose(request, rule, actor.purposes, acting_purpose(actor.purposes, chosen))
    purpose = rule.purpose_for(actor.purposes, chosen)
    request.access = Access(actor, purpose) if purpose else None  # type: ignore[attr-defined]
    return None


def _other_purpose(request: HttpRequest, rule: AgentRule, purposes: frozenset[str], acting: str | None) -> (
        HttpResponse):
    """An exclusive page asked while acting for another purpose: 403, the purposes the page is kept for, the one
    the agent acts for, and a button to switch to each of the page's purposes their service has."""
    def label(code: str | None) -> str:
        return PURPOSES[code].label if code in PURPOSES else str(code or "")

    kept = sorted(rule.purposes)
    log.info("exclusive page refused to another purpose", path=request.path, acting=acting)
    return render(request, "web/finalite_reservee.html", {
        "kept": [label(code) for code in kept], "acting": label(acting),
        "switches": [(code, label(code)) for code in kept if code in purposes], "next": request.get_full_path(),
    }, status=403)
