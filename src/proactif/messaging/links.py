"""Signed, expiring, single-purpose links for citizens (no account needed).

The token signs the link's id with a timestamp (Django's TimestampSigner, keyed by the secret key); the
row holds its purpose, person, journey and expiry, and can be revoked. Opening a link is an engagement
("click") and an event other capabilities react to (a journey waiting for "link_clicked" moves on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core import signing
from django.db.models import F

from proactif.kernel import bulkload, clock, events
from proactif.messaging import engagement
from proactif.messaging.models import Link

SALT = "proactif.citizen-link"
_targets: dict[str, Callable[[Link], str]] = {}


class LinkError(Exception):
    """An invalid, expired or revoked link — the message says which, in French."""


def register_target(purpose: str, target: Callable[[Link], str]) -> None:
    """Where a link of `purpose` leads once checked (a capability registers its portal page)."""
    _targets[purpose] = target


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
           days: int = 60, message_key: str = "") -> tuple[Link, str]:
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
    except (signing.BadSignature, Link.DoesNotExist, ValueError):
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
    target = _targets.get(link.purpose)
    if target is None:
        raise LinkError("Ce lien ne mène plus à aucune démarche.")
    return Opened(link, target(link))
