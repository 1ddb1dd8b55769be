"""Signed, expiring, single-purpose links for citizens (no account needed).

The token signs the link's id with a timestamp (Django's TimestampSigner, keyed by the secret key); the
row holds its purpose, person, journey and expiry, and can be revoked. Opening a link is an engagement
("click") and an event other capabilities react to (a journey waiting for "link_clicked" moves on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core import signing
from django.db.models import F

from proactif.kernel import bulkload, capabilities, clock, events
from proactif.messaging import _engagement as engagement
from proactif.messaging.models import Link

SALT = "proactif.citizen-link"
SESSION_KEY = "proactif_links"  # link purpose → id of the links opened in a browser session


class LinkError(Exception):
    """An invalid, expired or revoked link — the message says which, in French."""


@dataclass(frozen=True)
class LinkRequest:
    purpose: str
    person_id: int
    instance_id: int | None = None
    payload: dict[str, Any] | None = None
    message_key: str = ""
    days: int = 60


def _public_url() -> str:
    from django.conf import settings

    return str(settings.PUBLIC_URL).rstrip("/")


def token_for(link_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign(signing.b62_encode(link_id))


def url_for_id(link_id: int) -> str:
    return f"{_public_url()}/l/{token_for(link_id)}"


def url_for(link: Link) -> str:
    return url_for_id(link.pk)


def create_many(requests: list[LinkRequest]) -> list[int]:
    """One link per request, written in one statement (a journey step sends thousands at once). Returns the
    ids: a message carries `lien_id` and its URL is signed when the message is rendered, at send time."""
    if not requests:
        return []
    now = clock.now()
    return list(bulkload.copy_records(Link, [
        {"purpose": r.purpose, "person_id": r.person_id, "instance_id": r.instance_id, "payload": r.payload or {},
         "created_at": now, "expires_at": now + timedelta(days=r.days), "message_key": r.message_key[:200]}
        for r in requests], with_ids=True))


def create(purpose: str, person_id: int, *, instance_id: int | None = None, payload: dict[str, Any] | None = None,
           days: float = 60, message_key: str = "") -> tuple[Link, str]:
    now = clock.now()
    link = Link.objects.create(purpose=purpose, person_id=person_id, instance_id=instance_id, payload=payload or {},
                               created_at=now, expires_at=now + timedelta(days=days), message_key=message_key[:200])
    return link, url_for(link)


@dataclass(frozen=True)
class Opened:
    link: Link
    target: str


def resolve(token: str) -> Link:
    try:
        raw = signing.TimestampSigner(salt=SALT).unsign(token)
        link = Link.objects.get(pk=signing.b62_decode(raw))
    except (signing.BadSignature, Link.DoesNotExist, ValueError, OverflowError):
        raise LinkError("Ce lien n'est pas valide. Vérifiez qu'il a été copié en entier.") from None
    if link.revoked_at is not None:
        raise LinkError("Ce lien a été désactivé.")
    if link.expires_at <= clock.now():
        raise LinkError("Ce lien a expiré. La mairie peut vous en envoyer un nouveau.")
    return link


def open_link(token: str, channel: str = "") -> Opened:
    link = resolve(token)
    now = clock.now()
    Link.objects.filter(pk=link.pk).update(uses=F("uses") + 1)
    if link.first_used_at is None:
        Link.objects.filter(pk=link.pk, first_used_at__isnull=True).update(first_used_at=now)
        engagement.record(link.person_id, "click", channel, now, link.message_key, link.instance_id)
        events.publish("link_clicked", person_id=link.person_id, instance_id=link.instance_id,
                       purpose=link.purpose)
    url_name = capabilities.link_target(link.purpose)  # the page its capability declared for this purpose
    if url_name is None:
        raise LinkError("Ce lien ne mène plus à aucune démarche.")
    from django.urls import reverse

    return Opened(link, reverse(url_name))


def valid(link_id: int) -> Link | None:
    """A link remembered in a citizen's session, while it is neither expired nor revoked."""
    return Link.objects.filter(pk=link_id, revoked_at__isnull=True, expires_at__gt=clock.now()).first()


def remember(session: Any, link: Link) -> None:
    """The citizen's browser session keeps the link it opened (the token leaves the address bar)."""
    opened = dict(session.get(SESSION_KEY) or {})
    opened[link.purpose] = link.pk
    session[SESSION_KEY] = opened


def in_session(session: Any, purpose: str) -> Link | None:
    """The still-valid link of `purpose` opened in this browser session ("*": any purpose)."""
    opened = session.get(SESSION_KEY) or {}
    ids = list(opened.values()) if purpose == "*" else [opened[purpose]] if purpose in opened else []
    for link_id in ids:
        link = valid(link_id)
        if link is not None:
            return link
    return None
