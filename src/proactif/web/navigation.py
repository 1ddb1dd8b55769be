"""The navigation of the agent interface: only capabilities that exist, only what the role may open."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


def navigation_for(request: HttpRequest) -> list[NavItem]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    from proactif.accounts import services as accounts

    actor = accounts.actor_for_agent(user)
    entries: list[tuple[str, str]] = [("Tableau de bord", "web:home")]
    if actor.purposes - {"rgpd"}:
        entries += [("Habitants", "registry:search"), ("Parcours", "journeys:list")]
        if "etat_civil" in actor.purposes:
            entries.append(("Rendez-vous", "deadlines:agenda"))
        if "action_sociale" in actor.purposes:
            entries.append(("Droits", "rights:runs"))
        if "securite_publique" in actor.purposes:
            entries.append(("Alertes", "alerts:home"))
        entries += [("Messages", "messaging:outbox"), ("Doublons", "registry:duplicates"),
                    ("Imports", "registry:imports")]
    if actor.is_dpo:
        entries += [("Journal des accès", "audit:log"), ("Droits RGPD", "audit:rights")]
    if actor.is_admin:
        entries += [("Agents", "accounts:agents"), ("Clés d'API", "accounts:api_keys")]
    urls = [(label, reverse(name)) for label, name in entries]
    # The current entry is the one whose address is the longest start of the page's path.
    matching = [url for _, url in urls if request.path == url or (url != "/" and request.path.startswith(url))]
    current = max(matching, key=len) if matching else None
    return [NavItem(label, url, url == current) for label, url in urls]
