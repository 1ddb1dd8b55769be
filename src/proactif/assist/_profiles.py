"""Interest profiles, for the visitors who accepted « personnalisation » and only for them.

- **The cookie.** `proactif_profil` carries the profile's random key, signed (`django.core.signing`), HttpOnly,
  SameSite=Lax, Secure over HTTPS, for 13 months at most from its creation: it is set once, when the profile is
  made, and never pushed back on later visits (CNIL: a tracker's life is not extended by coming back).
- **Consent first.** A profile is made only when the visitor's valid consent allows personalisation
  (`_consent.current(request).allows("personnalisation")`). When they refuse it or take it back, their profile is
  frozen (`Profile.frozen`): nothing is recorded or inferred any more and the site falls back to its default
  order — the anonymous audience counts go on, they tell no visitor from another. Accepting again thaws it.
- **Interests.** Events add to the interest per theme with exponential decay (`_interests.add`, half-life
  `settings.INTEREST_HALF_LIFE_DAYS`); `sante` and `handicap` are never inferred, and a health page's event keeps
  neither that theme nor the page (the row would say what the visitor read).
- **Identity.** A subscriber's known profile (`for_subscriber`) absorbs the anonymous one of the browser they
  subscribed from (`merge`, server-side only, audited, reversible with `undo_merge`); the anonymous row stays as
  an alias (`merged_into`) that reads as the known profile.
- **The visitor's own hand.** `reset` empties what was learnt, `delete` removes the profile, its events, aliases
  and pseudonyms (« Pourquoi je vois ceci »).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse

from proactif.assist import _consent, _interests
from proactif.assist._rules import PURPOSE
from proactif.assist.models import Profile, ProfileEvent, ProfileMerge, ProfilePseudonym, SearchEntry
from proactif.kernel import clock

COOKIE = "proactif_profil"
SALT = "assist.profil"
COOKIE_AGE = timedelta(days=395)  # 13 months at most (CNIL)
SEEN_EVERY = timedelta(hours=12)  # `seen_at` is moved on at most this often (one write, not one per page)
PURPOSE_CODE = "personnalisation"
MAX_ALIASES = 8  # hops followed through `merged_into` (a merge chain is one hop in practice)
_CACHE = "_assist_profile"


# --- reading the visitor's profile -------------------------------------------------------------------------------
def _key_of(request: HttpRequest) -> str | None:
    value = request.COOKIES.get(COOKIE, "")
    if not value:
        return None
    try:
        key = signing.loads(value, salt=SALT, max_age=COOKIE_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return key if isinstance(key, str) and len(key) == 32 else None


def _resolve(profile: Profile | None) -> Profile | None:
    """The profile a row reads as: itself, or the one it was merged into."""
    hops = 0
    while profile is not None and profile.merged_into_id is not None and hops < MAX_ALIASES:
        profile = Profile.objects.filter(pk=profile.merged_into_id).first()
        hops += 1
    return profile


def _allows(request: HttpRequest) -> bool | None:
    """True with consent to personalisation, False when it was refused or withdrawn, None when nothing valid is
    known (never asked, the six months past, a forged cookie): the visitor decides nothing by not answering."""
    decision = _consent.current(request)
    if decision is None:
        return None
    return decision.allows(PURPOSE_CODE)


def current(request: HttpRequest) -> Profile | None:
    """The visitor's profile as it reads (an alias gives the profile it was merged into), or None: no consent to
    personalisation, no cookie, or a cookie that names nothing. A refusal or withdrawal seen here freezes the
    profile; consent given again thaws it."""
    cached = getattr(request, _CACHE, False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    profile = _current(request)
    setattr(request, _CACHE, profile)
    return profile


def _current(request: HttpRequest) -> Profile | None:
    key = _key_of(request)
    if key is None:
        return None
    allowed = _allows(request)
    if allowed is None:
        return None
    profile = _resolve(Profile.objects.filter(key=key).first())
    if profile is None:
        return None
    if not allowed:
        freeze(profile)
        return None
    now = clock.now()
    changes: dict[str, Any] = {}
    if profile.frozen:
        changes["frozen"] = False
    if now - profile.seen_at >= SEEN_EVERY:
        changes["seen_at"] = now
    if changes:
        Profile.objects.filter(pk=profile.pk).update(**changes)
        for field, value in changes.items():
            setattr(profile, field, value)
    return profile


def named_by_cookie(request: HttpRequest) -> Profile | None:
    """The profile the visitor's own cookie designates (as it reads), whatever their consent says now: they may
    always reset or delete it."""
    key = _key_of(request)
    return _resolve(Profile.objects.filter(key=key).first()) if key else None


def freeze(profile: Profile) -> None:
    """Consent withdrawn: the profile stays as it is (the visitor may still delete it) and learns nothing more."""
    if not profile.frozen:
        Profile.objects.filter(pk=profile.pk).update(frozen=True)
        profile.frozen = True


def refused(request: HttpRequest) -> None:
    """Called when the visitor answers the banner without personalisation: their profile is frozen at once (the
    profile the cookie names, and the one it reads as)."""
    key = _key_of(request)
    if key is None:
        return
    row = Profile.objects.filter(key=key).first()
    for profile in (row, _resolve(row)):
        if profile is not None:
            freeze(profile)
    setattr(request, _CACHE, None)


def ensure(request: HttpRequest, response: HttpResponse) -> Profile | None:
    """The visitor's profile, made (and its cookie set on `response`) when their consent allows it; None
    otherwise."""
    profile = current(request)
    if profile is not None or _allows(request) is not True:
        return profile
    decision = _consent.current(request)
    assert decision is not None
    now = clock.now()
    profile = Profile.objects.create(key=secrets.token_hex(16), consent_id=decision.consent_id, created_at=now,
                                     seen_at=now)
    response.set_cookie(COOKIE, signing.dumps(profile.key, salt=SALT), max_age=int(COOKIE_AGE.total_seconds()),
                        httponly=True, samesite="Lax", secure=request.is_secure())
    setattr(request, _CACHE, profile)
    return profile


def forget_cookie(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE, samesite="Lax")


# --- learning ----------------------------------------------------------------------------------------------------
def page_themes(page_ids: Iterable[int]) -> dict[int, list[str]]:
    """The themes of published pages, from the search index (one query)."""
    ids = {int(i) for i in page_ids}
    if not ids:
        return {}
    return {page_id: themes.split() for page_id, themes in
            SearchEntry.objects.filter(page_id__in=ids).values_list("page_id", "themes")}


def record(profile: Profile, events: list[dict[str, Any]],
           themes_of_pages: Mapping[int, list[str]] | None = None) -> int:
    """Keep a consenting visitor's events and raise their interests, in one transaction. Each event is
    {"type": one of `_interests.KINDS`, "page": id?, "theme": slug?}: a page's themes are read here, on the server
    (the browser's word is taken for a theme only without a page). Returns the number of events kept (0 for a
    frozen profile)."""
    if not events:
        return 0
    now = clock.now()
    wanted = [int(e["page"]) for e in events if e.get("page")]
    known = dict(themes_of_pages) if themes_of_pages is not None else page_themes(wanted)
    rows: list[ProfileEvent] = []
    learnt: list[tuple[str, str, Any]] = []
    for event in events:
        kind = str(event["type"])
        page = int(event["page"]) if event.get("page") else None
        themes = known.get(page, []) if page is not None else [str(event.get("theme") or "")]
        if set(themes) & _interests.SENSITIVE:  # a health page: neither the theme nor the page is kept
            page = None
        kept = [t for t in themes if t and t not in _interests.SENSITIVE] or [""]
        for theme in kept:
            rows.append(ProfileEvent(profile_id=profile.pk, kind=kind, theme=theme, page_id=page, at=now))
            learnt.append((kind, theme, now))
    with transaction.atomic():
        locked = Profile.objects.select_for_update().filter(pk=profile.pk).values_list("interests", "frozen").first()
        if locked is None or locked[1]:
            return 0
        interests = _interests.add(locked[0], learnt, settings.INTEREST_HALF_LIFE_DAYS)
        ProfileEvent.objects.bulk_create(rows)
        Profile.objects.filter(pk=profile.pk).update(interests=interests, events=F("events") + len(events),
                                                     seen_at=now)
    profile.interests = interests
    profile.events += len(events)
    profile.seen_at = now
    return len(events)


def scores(profile: Profile) -> dict[str, float]:
    """Theme → score, the chosen themes first (`_interests.CHOSEN_SCORE`), set-aside ones negative."""
    return _interests.theme_scores(profile.interests, profile.chosen, clock.now(), settings.INTEREST_HALF_LIFE_DAYS)


def top(profile: Profile, limit: int = 3) -> list[tuple[str, float, str]]:
    """The themes leading the visitor's order and why (« choisi » | « deduit »)."""
    return _interests.top_themes(profile.interests, profile.chosen, clock.now(), limit,
                                 settings.INTEREST_HALF_LIFE_DAYS)


def group(profile: Profile) -> str:
    """« controle » (kept on the default order) or « personnalise »."""
    return _interests.group(profile.key, settings.PERSONALISATION_CONTROL_PERCENT)


def choose(profile: Profile, themes: Iterable[str]) -> None:
    """The themes the visitor ticked on « Mes centres d'intérêt » become the profile's choices (a theme set aside
    stays set aside unless ticked)."""
    ticked = list(dict.fromkeys(themes))
    chosen = {t: False for t, wanted in profile.chosen.items() if not wanted and t not in ticked}
    chosen.update({t: True for t in ticked})
    Profile.objects.filter(pk=profile.pk).update(chosen=chosen)
    profile.chosen = chosen


# --- identity ----------------------------------------------------------------------------------------------------
def for_subscriber(subscriber: Any) -> Profile:
    """The subscriber's known profile, made when they have none."""
    with transaction.atomic():
        profile = (Profile.objects.select_for_update().filter(subscriber=subscriber, merged_into__isnull=True)
                   .order_by("pk").first())
        if profile is None:
            now = clock.now()
            profile = Profile.objects.create(key=secrets.token_hex(16), consent_id="", created_at=now, seen_at=now,
                                             subscriber=subscriber)
    return profile


def _snapshot(profile: Profile) -> dict[str, Any]:
    return {"interests": profile.interests, "chosen": profile.chosen, "answers": profile.answers,
            "events": profile.events}


def _audit(action: str, target: Profile, detail: dict[str, Any]) -> None:
    from proactif.accounts.domain import system_actor
    from proactif.audit import services as audit

    person = target.subscriber.person_id if target.subscriber_id and target.subscriber else None
    audit.record(system_actor("assist.profils"), action, purpose=PURPOSE, person_ids=[person], detail=detail)


def merge(source: Profile, target: Profile, reason: str) -> ProfileMerge:
    """The anonymous `source` merged into the known `target`, server-side only (never on the browser's word):
    the target gets the sum of both interests (each decayed to now), the source's choices and answers where it has
    none; the source stays as an alias. What the target held is kept in the merge row (`before`) to undo it.
    Audited."""
    if source.pk == target.pk:
        raise ValueError("un profil ne peut pas être fusionné avec lui-même")
    now = clock.now()
    half_life = settings.INTEREST_HALF_LIFE_DAYS
    with transaction.atomic():
        rows = {p.pk: p for p in Profile.objects.select_for_update().filter(pk__in=[source.pk, target.pk])}
        src, dst = rows.get(source.pk), rows.get(target.pk)
        if src is None or dst is None:
            raise ValueError("profil introuvable : il a été supprimé entre-temps")
        if src.merged_into_id is not None or dst.merged_into_id is not None:
            raise ValueError("un des profils est déjà fusionné dans un autre")
        before = _snapshot(dst)
        summed = _interests.decayed(dst.interests, now, half_life)
        for theme, value in _interests.decayed(src.interests, now, half_life).items():
            summed[theme] = summed.get(theme, 0.0) + value
        dst.interests = {theme: [value, now.timestamp()] for theme, value in summed.items()}
        dst.chosen = {**src.chosen, **dst.chosen}
        dst.answers = {**src.answers, **dst.answers}
        dst.events += src.events
        dst.save(update_fields=["interests", "chosen", "answers", "events"])
        src.merged_into = dst
        src.save(update_fields=["merged_into"])
        record_ = ProfileMerge.objects.create(source=src, target=dst, before=before, merged_at=now,
                                              reason=reason[:80])
        _audit("merge", dst, {"fusion_de_profils": record_.pk, "source": src.pk, "cible": dst.pk,
                              "motif": reason[:80]})
    source.refresh_from_db()
    target.refresh_from_db()
    return record_


def undo_merge(merge_id: int) -> Profile:
    """The merge undone: the target back to what it held before (`before`), the source its own profile again.
    Returns the target as restored. Only the latest merge still standing into a target can be undone."""
    with transaction.atomic():
        merge_ = ProfileMerge.objects.select_for_update().filter(pk=merge_id).first()
        if merge_ is None:
            raise LookupError(f"fusion de profils {merge_id} introuvable")
        if merge_.undone_at is not None:
            raise ValueError(f"la fusion de profils {merge_id} est déjà annulée")
        later = ProfileMerge.objects.filter(target_id=merge_.target_id, undone_at__isnull=True, pk__gt=merge_.pk)
        if later.exists():
            raise ValueError("une fusion plus récente dans le même profil tient encore : annulez-la d'abord")
        target = Profile.objects.select_for_update().get(pk=merge_.target_id)
        for field, value in merge_.before.items():
            setattr(target, field, value)
        target.save(update_fields=list(merge_.before))
        Profile.objects.filter(pk=merge_.source_id, merged_into_id=target.pk).update(merged_into=None)
        merge_.undone_at = clock.now()
        merge_.save(update_fields=["undone_at"])
        _audit("unmerge", target, {"fusion_de_profils": merge_.pk, "source": merge_.source_id, "cible": target.pk})
    return target


# --- the visitor's own hand --------------------------------------------------------------------------------------
def _family(profile: Profile) -> list[int]:
    """The profile and its aliases."""
    return [profile.pk, *Profile.objects.filter(merged_into=profile).values_list("pk", flat=True)]


def reset(profile: Profile) -> None:
    """Everything learnt forgotten: the inferred interests, the answers and the events (the aliases' too). The
    themes the visitor chose stay: they are their own setting."""
    with transaction.atomic():
        ids = _family(profile)
        ProfileEvent.objects.filter(profile_id__in=ids).delete()
        Profile.objects.filter(pk__in=ids).update(interests={}, answers={}, events=0)
    profile.interests, profile.answers, profile.events = {}, {}, 0


def delete(profile: Profile) -> int:
    """The profile gone with its events, aliases, pseudonyms and merges. Returns the number of profiles
    deleted."""
    with transaction.atomic():
        ids = _family(profile)
        ProfileEvent.objects.filter(profile_id__in=ids).delete()
        ProfilePseudonym.objects.filter(profile_id__in=ids).delete()
        ProfileMerge.objects.filter(source_id__in=ids).delete()
        ProfileMerge.objects.filter(target_id__in=ids).delete()
        Profile.objects.filter(pk__in=ids, merged_into__isnull=False).delete()
        return int(Profile.objects.filter(pk__in=ids).delete()[0])
