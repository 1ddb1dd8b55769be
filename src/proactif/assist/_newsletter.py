"""Newsletters: subscriptions with double opt-in, preferences and one-click unsubscribe reached by signed links,
the optional link to a registry person (consent ledger), editions composed from published pages and sent as
direct messages on the bulk lane, each copy ordered by its subscriber's interests, clicks counted per block
through signed redirects, bounces and complaints stopping an address.

Every link a subscriber receives is signed (`django.core.signing`, one salt per use) and names the subscriber and
their address: a subscription deleted and made again under the same number is not reached by an old link. The
confirmation link expires after `CONFIRM_DAYS` (read from `kernel.clock`); the others last as long as the
subscription. Nothing is sent to an address before it is confirmed."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from proactif.assist._gdpr import MESSAGE_KEY
from proactif.assist.models import ContentPage, Edition, EditionBlock, Profile, Subscriber, Theme
from proactif.kernel import clock
from proactif.kernel.logging import get_logger

log = get_logger(__name__)

PURPOSE = "information"
SERVICE = "communication"
CONFIRM_DAYS = 7
CONSENT_VERSION = "lettre-2026-12"
PURPOSE_TEXT = ("La mairie utilise votre adresse e-mail uniquement pour vous envoyer la lettre d'information des "
                "thèmes choisis. Vous pouvez changer vos listes, vous désabonner ou supprimer votre abonnement à "
                "tout moment par le lien présent dans chaque lettre. Base légale : votre consentement (RGPD, "
                "art. 6-1-a).")
LINK_VERSION = "lettre-liaison-2026-12"
LINK_TEXT = ("Relier votre abonnement à votre dossier permet à la mairie de savoir que cette adresse est la vôtre : "
             "vos préférences de communication s'appliquent alors aussi à la lettre, et votre abonnement figure dans "
             "vos données si vous en demandez une copie. Vous pouvez annuler ce lien à tout moment.")
# Thresholds (the same as messaging's): one hard bounce, three soft ones or one complaint stop the address
HARD_LIMIT, SOFT_LIMIT, COMPLAINT_LIMIT = 1, 3, 1
TEMPLATES = Path(__file__).parent / "messages.yaml"
CONFIRMATION_TEMPLATE, EDITION_TEMPLATE = "assist.lettre.confirmation", "assist.lettre.edition"
SALTS = {"confirmation": "assist.lettre.confirmation", "preferences": "assist.lettre.preferences",
         "desinscription": "assist.lettre.desinscription", "lien": "assist.lettre.lien"}


class BadToken(ValueError):
    """A link forged, tampered with, expired, or naming a subscription that no longer exists."""


class Refused(ValueError):
    """Input refused, with the field and its message in French."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# --- signed links ------------------------------------------------------------------------------------------------
def browser_mark(profile_key: str) -> str:
    """What a confirmation link says of the browser that asked for it: a keyed hash of its profile's key (the link
    is readable in the e-mail; the key itself must never be)."""
    return hmac.new(settings.SECRET_KEY.encode(), b"assist.lettre.navigateur." + profile_key.encode(),
                    "sha256").hexdigest()[:32]


def token(kind: str, subscriber: Subscriber, browser: str = "") -> str:
    payload: dict[str, Any] = {"s": subscriber.pk, "e": subscriber.email}
    if kind == "confirmation":
        payload["t"] = int(clock.now().timestamp())
        if browser:
            payload["p"] = browser
    return str(signing.dumps(payload, salt=SALTS[kind], compress=True))


def confirmation_browser(value: str) -> str:
    """The mark of the browser that asked for this confirmation link ("" when it had no profile)."""
    try:
        payload = signing.loads(value, salt=SALTS["confirmation"])
    except signing.BadSignature:
        return ""
    mark = payload.get("p") if isinstance(payload, dict) else None
    return mark if isinstance(mark, str) else ""


def subscriber_for(kind: str, value: str) -> Subscriber:
    """The subscriber a signed link names, or BadToken."""
    try:
        payload = signing.loads(value, salt=SALTS[kind])
    except signing.BadSignature:
        raise BadToken("lien invalide") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise BadToken("lien invalide")
    if kind == "confirmation":
        issued = payload.get("t")
        if not isinstance(issued, int) or clock.now().timestamp() - issued > CONFIRM_DAYS * 86400:
            raise BadToken("lien expiré")
    found = Subscriber.objects.filter(pk=payload["s"], email=payload.get("e")).first()
    if found is None:
        raise BadToken("abonnement introuvable")
    return found


def absolute(path: str) -> str:
    return settings.PUBLIC_URL.rstrip("/") + path


def link(kind: str, subscriber: Subscriber, browser: str = "") -> str:
    names = {"confirmation": "assist:newsletter_confirm", "preferences": "assist:newsletter_preferences",
             "desinscription": "assist:newsletter_unsubscribe"}
    return absolute(reverse(names[kind], args=[token(kind, subscriber, browser)]))


def click_link(block: EditionBlock, url: str) -> str:
    signed = signing.dumps({"b": block.pk, "u": url}, salt=SALTS["lien"], compress=True)
    return absolute(reverse("assist:newsletter_link", args=[signed]))


def allowed_hosts() -> set[str]:
    site = urlsplit(settings.PUBLIC_URL).hostname or ""
    extra = getattr(settings, "NEWSLETTER_ALLOWED_DOMAINS", [])
    if isinstance(extra, str):
        extra = [d.strip() for d in extra.split(",")]
    return {site.lower(), *(d.lower() for d in extra if d)}


def follow(value: str) -> str:
    """The target of a signed redirect, its block's click counted; BadToken (forged, tampered, unknown block) or
    Refused (a target off the site and the allowed domains)."""
    try:
        payload = signing.loads(value, salt=SALTS["lien"])
    except signing.BadSignature:
        raise BadToken("lien invalide") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("b"), int) or not isinstance(payload.get("u"), str):
        raise BadToken("lien invalide")
    url = payload["u"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in allowed_hosts():
        raise Refused("lien", "ce lien ne mène ni au site de la collectivité ni à un domaine autorisé")
    if not EditionBlock.objects.filter(pk=payload["b"]).update(clicks=F("clicks") + 1):
        raise BadToken("lien introuvable")
    return str(url)


# --- subscribing --------------------------------------------------------------------------------------------------
def install_templates() -> int:
    """The newsletters' e-mail templates published (idempotent): for the capability's install, and before sending."""
    from proactif.messaging import services as messaging

    return int(messaging.load_templates(TEMPLATES))


def _send(specs: list[Any]) -> dict[str, int]:
    from proactif.messaging import services as messaging

    install_templates()
    return messaging.send(specs)


def _spec(key: str, subscriber: Subscriber, template: str, lane: str, context: dict[str, Any]) -> Any:
    from proactif.messaging.services import MessageSpec

    return MessageSpec(key, None, template, PURPOSE, SERVICE, lane=lane, policy=["email"],
                       context={MESSAGE_KEY: subscriber.pk, **context}, trigger="lettre", address=subscriber.email)


def normalised(email: str) -> str:
    from proactif.messaging import services as messaging

    value = (email or "").strip()
    if not value:
        raise Refused("email", "Indiquez votre adresse e-mail.")
    if len(value) > 254:
        raise Refused("email", "Cette adresse e-mail est trop longue.")
    try:
        return str(messaging.direct_address(["email"], value))
    except ValueError:
        raise Refused("email", "Cette adresse e-mail n'est pas valide : vérifiez-la (exemple : nom@domaine.fr)."
                      ) from None


def themes_for(slugs: list[str]) -> list[Theme]:
    # a value no slug can be (a NUL, which PostgreSQL's text cannot even hold) is no list
    chosen = list(Theme.objects.filter(slug__in=[s for s in slugs if isinstance(s, str) and "\x00" not in s]))
    if not chosen:
        raise Refused("listes", "Choisissez au moins une liste.")
    return chosen


def ask_subscription(email: str, slugs: list[str], browser: str = "") -> Subscriber | None:
    """A subscription waiting for its confirmation, the confirmation e-mail sent. An address already confirmed, or
    stopped by its bounces, gets nothing (the caller answers the same either way: no one learns whether an
    address is subscribed). `browser`: the asking browser's mark (`browser_mark`), which its link carries so that
    confirming merges that browser's profile and no other. Returns the subscriber written to, or None."""
    address = normalised(email)
    lists = themes_for(slugs)
    now = clock.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email__iexact=address).first()
        if subscriber is not None and subscriber.status in (Subscriber.ACTIVE, Subscriber.STOPPED):
            return None
        if subscriber is None:
            subscriber = Subscriber.objects.create(email=address, consent_version=CONSENT_VERSION, created_at=now)
        else:  # waiting, or left: asked again, confirmed again
            subscriber.status, subscriber.consent_version, subscriber.created_at = (Subscriber.PENDING,
                                                                                    CONSENT_VERSION, now)
            subscriber.left_at = None
            subscriber.save(update_fields=["status", "consent_version", "created_at", "left_at"])
        subscriber.lists.set(lists)
        hour = int(now.timestamp()) // 3600  # asked twice within the hour: one e-mail
        text = (f"Bonjour,\n\nVous avez demandé à recevoir la lettre d'information de {settings.COLLECTIVITE_NAME} "
                f"({', '.join(t.name for t in lists)}). Pour confirmer votre abonnement, ouvrez ce lien dans les "
                f"{CONFIRM_DAYS} jours :\n{link('confirmation', subscriber, browser)}\n\nSi vous n'êtes pas à "
                f"l'origine de cette demande, ignorez ce message : vous ne recevrez rien.")
        _send([_spec(f"assist-lettre-confirmation-{subscriber.pk}-{hour}", subscriber, CONFIRMATION_TEMPLATE,
                     "transactional", {"texte": text})])
    return subscriber


def confirm(request: Any, subscriber: Subscriber, browser: str = "") -> Subscriber:
    """The address confirmed (double opt-in) and, in the request that confirms it only, the visitor's anonymous
    profile merged into the subscriber's — server-side, from the cookie this browser carries, and only when it is the
    browser that asked for the link (`browser`, the link's mark): whoever opens someone else's confirmation link, or
    is sent to it by another site, gives their profile to no one. (The asking browser may come after a mail
    scanner that opened the link first: its merge still happens.)"""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.PENDING:
            subscriber.status, subscriber.confirmed_at = Subscriber.ACTIVE, clock.now()
            subscriber.save(update_fields=["status", "confirmed_at"])
        if subscriber.status == Subscriber.ACTIVE:
            _merge_visitor(request, subscriber, browser)
    return subscriber


def _merge_visitor(request: Any, subscriber: Subscriber, browser: str) -> None:
    from proactif.assist import _profiles

    anonymous = _profiles.current(request)
    if anonymous is None or anonymous.subscriber_id is not None:
        return  # no consent, or a profile that is already someone's known profile
    if not browser or not hmac.compare_digest(browser, browser_mark(anonymous.key)):
        return  # not the browser that asked for this subscription
    known = _profiles.for_subscriber(subscriber)
    if known.pk != anonymous.pk:
        _profiles.merge(anonymous, known, "abonnement confirmé")


# --- preferences -------------------------------------------------------------------------------------------------
def change_lists(subscriber: Subscriber, slugs: list[str]) -> None:
    subscriber.lists.set(themes_for(slugs))


def unsubscribe(subscriber: Subscriber) -> bool:
    """Idempotent: True when this call unsubscribed."""
    return bool(Subscriber.objects.filter(pk=subscriber.pk, status__in=[Subscriber.ACTIVE, Subscriber.PENDING])
                .update(status=Subscriber.UNSUBSCRIBED, left_at=clock.now()))


def delete(subscriber: Subscriber) -> None:
    """The subscription gone with its known profile; the letters sent to it blanked in the messaging engine."""
    from proactif.assist import _profiles
    from proactif.messaging import services as messaging

    with transaction.atomic():
        if subscriber.person_id is not None:
            unlink(subscriber)
        for profile in Profile.objects.filter(subscriber=subscriber, merged_into__isnull=True):
            _profiles.delete(profile)
        messaging.erase_direct(MESSAGE_KEY, [subscriber.pk])
        subscriber.delete()


def _system_access() -> Any:
    from proactif.accounts.domain import Access, system_actor

    return Access(system_actor("lettre.liaison"), PURPOSE)


def link_person(subscriber: Subscriber, person_id: int) -> None:
    """The resident's explicit opt-in: the subscription linked to their registry file, the consent kept in the
    registry's ledger with the text shown."""
    from proactif.registry import services as registry

    with transaction.atomic():
        registry.record_consent(_system_access(), person_id, purpose=PURPOSE, channel="email", decision="granted",
                                source="lettre", text_version=LINK_VERSION,
                                proof={MESSAGE_KEY: subscriber.pk, "texte": LINK_TEXT})
        Subscriber.objects.filter(pk=subscriber.pk).update(person_id=person_id, linked_at=clock.now())
    subscriber.refresh_from_db()


def unlink(subscriber: Subscriber) -> None:
    from proactif.registry import services as registry

    if subscriber.person_id is None:
        return
    with transaction.atomic():
        registry.record_consent(_system_access(), subscriber.person_id, purpose=PURPOSE, channel="email",
                                decision="revoked", source="lettre", text_version=LINK_VERSION,
                                proof={MESSAGE_KEY: subscriber.pk})
        Subscriber.objects.filter(pk=subscriber.pk).update(person_id=None, linked_at=None)
    subscriber.refresh_from_db()


# --- bounces and complaints --------------------------------------------------------------------------------------
def on_email_feedback(event: str, person_id: int, instance_id: int | None = None, **payload: Any) -> None:
    """Messaging's `email_feedback`: the subscriber at that address counts it, and is stopped when messaging stopped
    the address or the thresholds are reached."""
    if event != "email_feedback":
        return
    address, kind = str(payload.get("address") or ""), payload.get("kind")
    if not address or kind not in ("hard", "soft", "complaint"):
        return
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email__iexact=address).first()
        if subscriber is not None:
            _count_feedback(subscriber, str(kind), bool(payload.get("stopped")))


def _count_feedback(subscriber: Subscriber, kind: str, stopped: bool) -> None:
    field = {"hard": "hard_bounces", "soft": "soft_bounces", "complaint": "complaints"}[kind]
    setattr(subscriber, field, getattr(subscriber, field) + 1)
    fields = [field]
    reason = ""
    if subscriber.hard_bounces >= HARD_LIMIT:
        reason = "adresse refusée définitivement par le serveur du destinataire"
    elif subscriber.complaints >= COMPLAINT_LIMIT:
        reason = "message signalé comme indésirable par le destinataire"
    elif subscriber.soft_bounces >= SOFT_LIMIT:
        reason = f"{subscriber.soft_bounces} refus temporaires"
    elif stopped:
        reason = "adresse arrêtée par la messagerie"
    if reason and subscriber.status != Subscriber.STOPPED:
        subscriber.status, subscriber.stop_reason, subscriber.left_at = Subscriber.STOPPED, reason, clock.now()
        fields += ["status", "stop_reason", "left_at"]
    subscriber.save(update_fields=fields)


# --- editions ----------------------------------------------------------------------------------------------------
def published_pages(query: str = "", limit: int = 60) -> list[ContentPage]:
    from wagtail.models import Page

    pages = Page.objects.live().specific().order_by("-last_published_at")
    if query.strip():
        pages = pages.filter(title__icontains=query.strip())
    out = [p for p in pages[:limit * 3] if isinstance(p, ContentPage)]
    return out[:limit]


def pages_by_id(ids: list[int]) -> dict[int, ContentPage]:
    from wagtail.models import Page

    return {p.pk: p for p in Page.objects.live().filter(pk__in=ids).specific() if isinstance(p, ContentPage)}


def compose(edition: Edition, title: str, intro: str, page_ids: list[int], slugs: list[str]) -> Edition:
    title = title.strip()
    if not title:
        raise Refused("titre", "Donnez un titre à la lettre.")
    if len(title) > 150:
        raise Refused("titre", "Le titre fait au plus 150 caractères.")
    live = pages_by_id(page_ids)
    unknown = [i for i in page_ids if i not in live]
    if unknown:
        raise Refused("pages", "Une page choisie n'est pas (ou plus) publiée : rechargez la liste.")
    if not page_ids:
        raise Refused("pages", "Choisissez au moins une page publiée.")
    lists = themes_for(slugs)
    if edition.status == Edition.SENT:
        raise Refused("lettre", "Cette lettre est envoyée : elle ne se modifie plus.")
    with transaction.atomic():
        edition.title, edition.intro = title, intro.strip()
        edition.save()
        edition.lists.set(lists)
        edition.blocks.exclude(page_id__in=page_ids).delete()
        for position, page_id in enumerate(dict.fromkeys(page_ids)):
            EditionBlock.objects.update_or_create(edition=edition, page_id=page_id, defaults={"position": position})
    return edition


@dataclass(frozen=True)
class Block:
    block: EditionBlock
    title: str
    summary: str
    url: str
    themes: tuple[str, ...]


def blocks_of(edition: Edition) -> list[Block]:
    rows = list(edition.blocks.all())
    pages = pages_by_id([b.page_id for b in rows])
    out = []
    for row in rows:
        page = pages.get(row.page_id)
        if page is None:
            continue  # unpublished since: left out
        url = page.url or "/"  # relative on a one-site install: the public address is the platform's
        out.append(Block(row, page.title, page.summary, absolute(url) if url.startswith("/") else url,
                         tuple(t.slug for t in page.themes.all())))
    return out


def ordered(blocks: list[Block], scores: dict[str, float], lists: frozenset[str] | set[str] = frozenset()) -> (
        list[Block]):
    """The blocks by the reader's interest (the best of each page's themes), the agent's order between equals; a
    theme the subscriber chose as a list counts before one they have no score for."""

    def weight(block: Block) -> tuple[float, int]:
        best = max((scores.get(t, 0.0) for t in block.themes), default=0.0)
        return (-best, 0 if set(block.themes) & lists else 1)

    return sorted(blocks, key=weight)


def subscriber_scores(subscriber: Subscriber) -> dict[str, float]:
    """The subscriber's known profile's scores (chosen themes first), read when the edition is sent; none for a
    subscriber who never accepted personalisation on the site."""
    profile = Profile.objects.filter(subscriber=subscriber, merged_into__isnull=True).order_by("pk").first()
    if profile is None:
        return {}
    try:
        from proactif.assist import _profiles
    except ImportError:  # part A not there yet: the same figures, from the pure module it reads them with
        from proactif.assist import _interests

        return _interests.theme_scores(profile.interests, profile.chosen, clock.now(),
                                       float(settings.INTEREST_HALF_LIFE_DAYS))
    return dict(_profiles.scores(profile))


def render_text(edition: Edition, blocks: list[Block], subscriber: Subscriber | None) -> str:
    """A copy's text: links signed for the subscriber, or marked for a preview (`subscriber` None)."""
    lines = [edition.title, ""]
    if edition.intro:
        lines += [edition.intro, ""]
    for block in blocks:
        target = click_link(block.block, block.url) if subscriber is not None else "[lien suivi]"
        lines += [f"— {block.title}", block.summary, f"Lire : {target}", ""]
    if subscriber is not None:
        names = ", ".join(t.name for t in subscriber.lists.all())
        lines += [f"Vous recevez cette lettre parce que cette adresse est abonnée aux listes : {names}.",
                  f"Gérer mon abonnement : {link('preferences', subscriber)}",
                  f"Me désabonner : {link('desinscription', subscriber)}"]
    else:
        lines += ["Vous recevez cette lettre parce que cette adresse est abonnée aux listes : …",
                  "Gérer mon abonnement : [lien personnel]", "Me désabonner : [lien personnel]"]
    return "\n".join(lines).strip()


def recipients_of_lists(slugs: list[str]) -> list[Subscriber]:
    """The confirmed subscribers of any of these lists (an address waiting, left or stopped is none of them)."""
    return list(Subscriber.objects.filter(status=Subscriber.ACTIVE, lists__slug__in=slugs).distinct()
                .order_by("pk").prefetch_related("lists"))


def recipients(edition: Edition) -> list[Subscriber]:
    return recipients_of_lists(list(edition.lists.values_list("slug", flat=True)))


def send_edition(edition: Edition) -> dict[str, int]:
    """One direct message per active subscriber of the edition's lists, on the bulk lane, keyed (edition,
    subscriber): sending again reaches only those not reached yet. Quiet hours apply when they leave."""
    blocks = blocks_of(edition)
    if not blocks:
        raise Refused("pages", "Cette lettre n'a plus aucune page publiée.")
    specs = []
    for subscriber in recipients(edition):
        chosen = {t.slug for t in subscriber.lists.all()}
        copy = ordered(blocks, subscriber_scores(subscriber), chosen)
        specs.append(_spec(f"assist-lettre-{edition.pk}-{subscriber.pk}", subscriber, EDITION_TEMPLATE, "bulk",
                           {"lettre": edition.pk, "texte": render_text(edition, copy, subscriber),
                            "desinscription": link("desinscription", subscriber)}))
    with transaction.atomic():
        keys = _send(specs) if specs else {}
        already = Edition.objects.filter(pk=edition.pk).values_list("recipients", flat=True).first() or 0
        Edition.objects.filter(pk=edition.pk).update(status=Edition.SENT, sent_at=edition.sent_at or clock.now(),
                                                     recipients=max(already, len(specs)))
    edition.refresh_from_db()
    return {"destinataires": len(specs), "messages": len(keys)}
