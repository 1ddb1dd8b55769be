"""A resident reached by a signed link (issue 20, part E): what concerns them in the registry, for 30 minutes.

There is no citizen sign-in. The town hall sends a resident a signed link of purpose `site_habitant`
(`resident_link`); opening it (`/l/<token>`, messaging's view) keeps the link in the browser's session and leads
to `/site/pour-vous/`. The person is the link row's — never an id from the address or a form — and the page
shows what the capabilities declare for a resident (`ForResident`: their passport to renew, an alert at their
address), each only when the legal basis of its communication purpose allows it for that person now: the
registry's send-time check (`registry.may_contact(person, purpose, "*")`), so an opposition or a withdrawn
consent in force for the purpose (on every channel) hides it, and an opt-in purpose needs a consent.

The resident's session: the Django session holds {person, link, uses, opened}. It starts when the link was
opened (anew: the link's `uses` counter moved since the session began, or another link was opened), lasts
30 minutes from then whatever the activity — checked on the server at every request — and ends at once with
« Terminer ». The session cookie is never persistent: the platform's sessions end with the browser
(SESSION_EXPIRE_AT_BROWSER_CLOSE: no Expires, no Max-Age) and the resident's session is set so explicitly
(`set_expiry(0)`), whatever the settings become. Each reading writes the access log, one row per declaration
read, naming the person, the actor being the resident themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest

from proactif.accounts.domain import Actor, Role
from proactif.audit import services as audit
from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import ResidentItem
from proactif.kernel.logging import get_logger
from proactif.kernel.text import date_fr
from proactif.messaging import services as messaging
from proactif.registry import services as registry

log = get_logger(__name__)

LINK_PURPOSE = "site_habitant"
SESSION_KEY = "proactif_habitant"
SESSION_MINUTES = 30
LINK_DAYS = 14  # how long the link itself can be opened (each opening starts a session of 30 minutes)
LINKS_SESSION_KEY = "proactif_links"  # where messaging keeps the links opened in a browser session (by purpose)
CHANNEL = "*"  # the page is no message channel: only what covers every channel (an opposition, a refusal) hides


class ResidentLinkError(ValueError):
    """A link cannot be made for this person (the message says why, in French)."""


def resident_link(person_id: int, days: int = LINK_DAYS) -> str:
    """A signed link to the resident's page for a resident of the registry (absolute URL)."""
    facts = registry.person_facts([person_id]).get(person_id)
    if facts is None:
        raise ResidentLinkError(f"aucune personne n° {person_id} dans le registre")
    if facts["statut"] != "active":
        raise ResidentLinkError(f"la personne n° {person_id} n'est plus un habitant actif du registre")
    if not 1 <= days <= 60:
        raise ResidentLinkError("la durée du lien va de 1 à 60 jours")
    _, url = messaging.create_link(LINK_PURPOSE, person_id, days=days)
    return str(url)


def demo_link() -> tuple[int, str] | None:
    """For the demo's banner: a link for a synthetic resident whose passport expires within six months (their page
    shows it), or None when the commune has none."""
    today = clock.today()
    for document in registry.documents_expiring("passeport", today, today + timedelta(days=180)).filter(
            person__source="synth", status="valide").order_by("expires_on", "id")[:20]:
        if not registry.may_contact(document.person_id, "rappels_echeances", CHANNEL):
            continue
        try:
            return document.person_id, resident_link(document.person_id)
        except ResidentLinkError:
            continue
    return None


# --- the session --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visit:
    person_id: int
    link_id: int
    opened_at: datetime

    @property
    def ends_at(self) -> datetime:
        return self.opened_at + timedelta(minutes=SESSION_MINUTES)


def _held(request: HttpRequest) -> dict[str, Any] | None:
    held = request.session.get(SESSION_KEY)
    return held if isinstance(held, dict) else None


def _in_time(held: dict[str, Any]) -> bool:
    return clock.now() < datetime.fromisoformat(held["opened"]) + timedelta(minutes=SESSION_MINUTES)


def visit(request: HttpRequest) -> Visit | None:
    """The resident's session for the link the access rule found (`request.citizen_link`): started when the link
    was opened in this browser, None once its 30 minutes are over (the session is then ended)."""
    link = request.citizen_link  # type: ignore[attr-defined]
    held = _held(request)
    if held is not None and held.get("link") == link.pk and held.get("uses") == link.uses:
        if not _in_time(held):
            end(request)
            log.info("resident session expired")
            return None
        return Visit(int(held["person"]), link.pk, datetime.fromisoformat(held["opened"]))
    # The link was just opened (first time, again, or another person's link in the same browser): a new session,
    # holding nothing of the one before.
    if held is not None:
        end(request, keep_link=True)
    now = clock.now()
    request.session[SESSION_KEY] = {"person": link.person_id, "link": link.pk, "uses": link.uses,
                                    "opened": now.isoformat(), "followed": {}}
    request.session.set_expiry(0)  # the cookie ends with the browser: no Expires, no Max-Age
    return Visit(link.person_id, link.pk, now)


def session_person(request: HttpRequest) -> int | None:
    """The registry person of a resident who opened a signed link in this browser less than 30 minutes ago."""
    held = _held(request)
    if held is None or not _in_time(held):
        return None
    link = messaging.link_in_session(request.session, LINK_PURPOSE)
    if link is None or link.pk != held.get("link"):
        return None
    return int(held["person"])


def end(request: HttpRequest, keep_link: bool = False) -> None:
    """The resident's session ends: its data leaves the session, with the links it holds (the signed link's,
    unless `keep_link`: another link was just opened, and those made from the page)."""
    held = _held(request)
    request.session.pop(SESSION_KEY, None)
    opened = dict(request.session.get(LINKS_SESSION_KEY) or {})
    drop = dict((held or {}).get("followed") or {})
    if not keep_link and held is not None:
        drop[LINK_PURPOSE] = held.get("link")
    for purpose, link_id in drop.items():
        if opened.get(purpose) == link_id:
            del opened[purpose]
    request.session[LINKS_SESSION_KEY] = opened


# --- what the page shows ------------------------------------------------------------------------------------
RESIDENT_LABEL = "l'habitant lui-même, par son lien signé"


def _actor(person_id: int) -> Actor:
    return Actor(kind="habitant", id=person_id, label=RESIDENT_LABEL, service=None, role=Role.AGENT)


@dataclass(frozen=True)
class Shown:
    label: str
    purpose: str
    items: list[ResidentItem]


def concerns(resident: Visit) -> list[Shown]:
    """What the declarations hold for the resident now, those whose purpose allows it; each reading logged."""
    person_id = resident.person_id
    facts = registry.person_facts([person_id]).get(person_id)
    if facts is None or facts["statut"] != "active":
        return []  # moved away, deceased, merged or erased since the link was made: nothing is read
    shown = []
    for declaration in capabilities.for_resident():
        if not registry.may_contact(person_id, declaration.purpose, CHANNEL):
            continue  # an opposition or refusal in force, or no consent for an opt-in purpose: nothing read
        items = declaration.items(person_id)
        audit.record(_actor(person_id), "view", purpose=declaration.purpose, person_ids=[person_id],
                     sections=[str(declaration.section)],
                     detail={"page": LINK_PURPOSE, "lien": resident.link_id, "elements": len(items)})
        shown.append(Shown(declaration.label, declaration.purpose, items))
    return shown


def when_label(value: Any) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(clock.local_tz())
        return f"{date_fr(local.date())} à {local:%Hh%M}"
    if isinstance(value, date):
        return date_fr(value)
    return ""


class NotOffered(LookupError):
    """The item asked for is not among the resident's now."""


def follow(request: HttpRequest, resident: Visit, key: str) -> str:
    """The page an item's button leads to: a citizen link of the item's purpose made for the same person, lasting
    no longer than the session, opened in this browser (counted like any click). Returns the page's path."""
    item = next((i for s in concerns(resident) for i in s.items if i.key == key and i.link_purpose), None)
    if item is None:
        raise NotOffered(key)
    days = (resident.ends_at - clock.now()).total_seconds() / 86400
    link, _ = messaging.create_link(item.link_purpose, resident.person_id, payload=dict(item.payload), days=days)
    opened = messaging.open_link(messaging.link_token(link.pk))
    messaging.remember_link(request.session, opened.link)
    held = _held(request)
    if held is not None:
        held["followed"] = {**(held.get("followed") or {}), item.link_purpose: link.pk}
        request.session[SESSION_KEY] = held
    return str(opened.target)


first_name = registry.first_name  # the greeting (the first given name), on the resident's own page
