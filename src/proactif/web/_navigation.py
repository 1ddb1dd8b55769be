"""The navigation of the agent interface: the entries capabilities declare, each shown to whoever the rule of
the page it opens lets in."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from proactif.kernel import capabilities
from proactif.kernel.capabilities import AgentRule


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


def navigation_for(request: HttpRequest) -> list[NavItem]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    actor = getattr(request, "actor", None)
    if actor is None:
        from proactif.accounts import services as accounts

        actor = accounts.actor_for_agent(user)  # type: ignore[arg-type]
    urls = [(entry.label, reverse(entry.url_name)) for entry, rule in capabilities.nav()
            if isinstance(rule, AgentRule) and rule.allows(actor.role, actor.purposes)]
    # The current entry is the one whose address is the longest start of the page's path.
    matching = [url for _, url in urls if request.path == url or (url != "/" and request.path.startswith(url))]
    current = max(matching, key=len) if matching else None
    return [NavItem(label, url, url == current) for label, url in urls]
