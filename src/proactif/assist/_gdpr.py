"""The public site's part in GDPR rights and retention.

A registry person has something here only when they subscribed to a newsletter and linked the subscription to
themself (an explicit opt-in, kept in the registry's consent ledger): the subscription, the interest profiles it
owns (the one it was created with, and the anonymous ones merged into it — the aliases), their events, merges and
pseudonyms. All of it is exported (art. 15) and erased (art. 17): nothing here is a proof the collectivité must
keep; the newsletters sent to the address are blanked by the messaging engine like any message to a contact value.

A visitor nobody knows resets or deletes their own profile from « Pourquoi je vois ceci » (`_profiles`), and a
subscriber unsubscribes or deletes their subscription from the preferences page (`_newsletter`), both without an
agent. Retention: profiles 13 months after the visitor was last seen (the cookie's own limit), events 25 months,
unconfirmed subscriptions after `PENDING_DAYS`, left or stopped subscriptions after `LEFT_DAYS`, the consent
proofs five years after they lapse and the anonymous audience counts after 25 months."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from proactif.assist import _audience, _consent, _interests
from proactif.assist.models import Profile, ProfileEvent, ProfileMerge, ProfilePseudonym, Subscriber
from proactif.kernel import clock
from proactif.kernel.capabilities import ErasureItem

PROFILE_DAYS = 395  # 13 months after the last visit: the cookie's own limit (CNIL)
EVENT_DAYS = 25 * 31  # 25 months
PENDING_DAYS = 7  # a subscription never confirmed
LEFT_DAYS = 90  # after unsubscribing or being stopped: long enough to answer a complaint about a sending
MESSAGE_KEY = "abonne"  # the messaging context key naming the subscriber of a newsletter message

MODELS = ("assist.Profile", "assist.ProfileEvent", "assist.ProfileMerge", "assist.ProfilePseudonym",
          "assist.Subscriber")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _subscribers(person_id: int) -> list[Subscriber]:
    return list(Subscriber.objects.filter(person_id=person_id).prefetch_related("lists").order_by("pk"))


def _profiles(subscriber_ids: list[int]) -> list[Profile]:
    """The subscribers' profiles and the aliases merged into them."""
    owned = list(Profile.objects.filter(subscriber_id__in=subscriber_ids).order_by("pk"))
    aliases = list(Profile.objects.filter(merged_into__in=owned).exclude(pk__in=[p.pk for p in owned])
                   .order_by("pk"))
    return owned + aliases


def _profile_export(profile: Profile, now: datetime) -> dict[str, Any]:
    events = list(ProfileEvent.objects.filter(profile=profile).order_by("at").values_list("kind", "theme", "page_id",
                                                                                           "at"))
    return {
        "alias_de": profile.merged_into_id, "numero": profile.pk, "cree_le": _iso(profile.created_at),
        "vu_le": _iso(profile.seen_at), "consentement_suspendu": profile.frozen,
        "centres_d_interet_choisis": profile.chosen,
        "centres_d_interet_deduits": {slug: round(score, 3) for slug, score in
                                      _interests.decayed(profile.interests, now).items()},
        "reponses": profile.answers,
        "evenements": [{"type": kind, "theme": theme or None, "page": page, "le": _iso(at)}
                       for kind, theme, page, at in events],
    }


def export(person_id: int) -> dict[str, Any]:
    subscribers = _subscribers(person_id)
    if not subscribers:
        return {}
    now = clock.now()
    profiles = _profiles([s.pk for s in subscribers])
    merges = ProfileMerge.objects.filter(Q(source__in=profiles) | Q(target__in=profiles)).order_by("merged_at")
    return {"lettres_d_information": [{
        "adresse": s.email, "statut": s.status, "listes": sorted(t.slug for t in s.lists.all()),
        "inscrit_le": _iso(s.created_at), "confirme_le": _iso(s.confirmed_at), "parti_le": _iso(s.left_at),
        "motif_d_arret": s.stop_reason or None, "rebonds_temporaires": s.soft_bounces,
        "rebonds_definitifs": s.hard_bounces, "plaintes": s.complaints, "lie_au_registre_le": _iso(s.linked_at),
    } for s in subscribers],
        "profils_de_personnalisation": [_profile_export(p, now) for p in profiles],
        "fusions_de_profils": [{"profil_fusionne": m.source_id, "dans": m.target_id, "le": _iso(m.merged_at),
                                "motif": m.reason, "annulee_le": _iso(m.undone_at)} for m in merges]}


def plan_erasure(person_id: int) -> list[ErasureItem]:
    subscribers = _subscribers(person_id)
    if not subscribers:
        return []
    profiles = _profiles([s.pk for s in subscribers])
    events = ProfileEvent.objects.filter(profile__in=profiles).count()
    return [
        ErasureItem("abonnements aux lettres d'information", "erase", "l'adresse, les listes choisies et leur "
                    "historique sont supprimés ; les lettres envoyées sont anonymisées dans la messagerie",
                    len(subscribers)),
        ErasureItem("profils de personnalisation du site", "erase", "les centres d'intérêt, les réponses données, "
                    "les alias fusionnés et leurs pseudonymes sont supprimés", len(profiles)),
        ErasureItem("événements de navigation", "erase", "les pages vues et recherches rattachées aux profils sont "
                    "supprimées", events),
    ]


def erase(person_id: int) -> dict[str, int]:
    from proactif.messaging import services as messaging

    subscribers = _subscribers(person_id)
    if not subscribers:
        return {}
    ids = [s.pk for s in subscribers]
    with transaction.atomic():
        profiles = [p.pk for p in _profiles(ids)]
        events = ProfileEvent.objects.filter(profile_id__in=profiles).delete()[0]
        ProfileMerge.objects.filter(Q(source_id__in=profiles) | Q(target_id__in=profiles)).delete()
        ProfilePseudonym.objects.filter(profile_id__in=profiles).delete()
        aliases = Profile.objects.filter(pk__in=profiles, merged_into__isnull=False).delete()[0]
        deleted_profiles = aliases + Profile.objects.filter(pk__in=profiles).delete()[0]
        messages = messaging.erase_direct(MESSAGE_KEY, ids)
        Subscriber.objects.filter(pk__in=ids).delete()
    return {"abonnements": len(ids), "profils": deleted_profiles, "evenements": events, "lettres": messages}


def purge() -> dict[str, int]:
    """The site's retention, nightly (see the module's docstring)."""
    now = clock.now()
    with transaction.atomic():
        events = ProfileEvent.objects.filter(at__lt=now - timedelta(days=EVENT_DAYS)).delete()[0]
        stale = Profile.objects.filter(seen_at__lt=now - timedelta(days=PROFILE_DAYS), subscriber__isnull=True)
        stale_ids = list(stale.values_list("pk", flat=True))
        ProfileEvent.objects.filter(profile_id__in=stale_ids).delete()
        profiles = Profile.objects.filter(pk__in=stale_ids).delete()[0] if stale_ids else 0
        pending = Subscriber.objects.filter(status=Subscriber.PENDING,
                                            created_at__lt=now - timedelta(days=PENDING_DAYS))
        left = Subscriber.objects.filter(status__in=[Subscriber.UNSUBSCRIBED, Subscriber.STOPPED],
                                         left_at__lt=now - timedelta(days=LEFT_DAYS))
        gone = [*pending.values_list("pk", flat=True), *left.values_list("pk", flat=True)]
        Profile.objects.filter(subscriber_id__in=gone).update(subscriber=None)
        subscribers = Subscriber.objects.filter(pk__in=gone).delete()[0] if gone else 0
    return {"preuves_de_consentement": _consent.purge(), "mesures_d_audience": _audience.purge(),
            "profils": profiles, "evenements": events, "abonnements": subscribers}


def wipe() -> int:
    """Every registry link forgotten (a registry replaced): subscriptions stay, they name an address, not a
    resident."""
    return Subscriber.objects.filter(person_id__isnull=False).update(person_id=None, linked_at=None)
