"""Request helpers: the acting agent, their purpose for this session, role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from proactif.accounts import services
from proactif.accounts.domain import Access, AccessDenied, Actor, Role, access_for

SESSION_PURPOSE = "proactif_purpose"


def actor_of(request: HttpRequest) -> Actor:
    return services.actor_for_agent(request.user)  # type: ignore[arg-type]


def access_of(request: HttpRequest) -> Access:
    """The agent acting for the purpose chosen for this session (or their service's first)."""
    actor = actor_of(request)
    chosen = request.session.get(SESSION_PURPOSE)
    if chosen and not actor.can_use(chosen):
        chosen = None
    try:
        return access_for(actor, chosen)
    except AccessDenied as exc:
        raise PermissionDenied(str(exc)) from exc


def access_as(request: HttpRequest, purpose: str, refusal: str) -> Access:
    """The agent acting for `purpose` on pages that serve only it (rights detection for social action, alerts
    for public safety), whatever purpose the session chose."""
    actor = actor_of(request)
    if not actor.can_use(purpose):
        raise PermissionDenied(refusal)
    return Access(actor, purpose)


def require_role(*roles: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if actor_of(request).role not in roles:
                raise PermissionDenied("Cette page est réservée à un autre rôle.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def require_person_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages about residents need a purpose that opens them (not the DSI's, for instance)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access_of(request)
        return view(request, *args, **kwargs)

    return wrapped
