"""The recommendations API, for the collectivité's other sites (the médiathèque's, the pool's…): ranked content
ids for a visitor known to that site by a per-site pseudonym (`pseudonym`), never their interests.

A pseudonym is random, one per (site, profile): two sites cannot join what they know. An unknown pseudonym gets
the default contextual order (season, alerts, deadlines) — not a 404, which would tell a caller which pseudonyms
exist. A test key always gets the default order: it reaches no real visitor."""

from __future__ import annotations

import re
import secrets
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import ValidationError

from proactif.assist import _interests, domain
from proactif.assist._rules import PURPOSE
from proactif.assist.models import Profile, ProfilePseudonym
from proactif.audit import services as audit
from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import ApiRouter, Scope, api

router = Router(tags=["site public"])
SITE_CODE = re.compile(r"[a-z0-9-]{1,40}")
PSEUDONYM = re.compile(r"[A-Za-z0-9_-]{1,40}")  # what `secrets.token_urlsafe` writes
MAX_LIMIT = 50


def sites() -> tuple[str, ...]:
    """The collectivité's other sites allowed to ask (`ASSIST_SITES`, codes)."""
    return tuple(getattr(settings, "ASSIST_SITES", ()) or ())


def pseudonym(profile: Profile, site: str) -> str:
    """The name `site` knows this profile by, created (random) the first time."""
    if not SITE_CODE.fullmatch(site):
        raise ValueError("code de site invalide")
    found = ProfilePseudonym.objects.filter(site=site, profile=profile).values_list("pseudonym", flat=True).first()
    if found:
        return str(found)
    try:
        with transaction.atomic():
            return str(ProfilePseudonym.objects.create(site=site, profile=profile,
                                                       pseudonym=secrets.token_urlsafe(18),
                                                       created_at=clock.now()).pseudonym)
    except IntegrityError:  # created meanwhile by a concurrent request
        return str(ProfilePseudonym.objects.get(site=site, profile=profile).pseudonym)


def profile_for(site: str, name: str) -> Profile | None:
    """The live profile behind a site's pseudonym (an alias read as the profile it was merged into)."""
    row = ProfilePseudonym.objects.filter(site=site, pseudonym=name[:40]).select_related("profile").first()
    if row is None:
        return None
    profile = row.profile
    for _ in range(5):
        if profile.merged_into_id is None:
            break
        profile = profile.merged_into
    return None if profile.frozen or profile.merged_into_id is not None else profile


def recommend(profile: Profile | None, limit: int) -> list[dict[str, Any]]:
    """Published pages, by context, the profile's leading themes first (`domain.rank_pages`)."""
    from proactif.assist import services

    chosen: frozenset[str] = frozenset()
    set_aside: frozenset[str] = frozenset()
    interests: dict[str, float] = {}
    if profile is not None:  # as the site orders the profile's own home (`services.context_for`)
        scores = _interests.theme_scores(profile.interests or {}, profile.chosen or {}, clock.now(),
                                         float(settings.INTEREST_HALF_LIFE_DAYS))
        chosen = frozenset(t for t, s in scores.items() if s >= _interests.CHOSEN_SCORE)
        set_aside = frozenset(t for t, s in scores.items() if s < 0) - chosen
        interests = {t: s for t, s in scores.items() if 0 < s < _interests.CHOSEN_SCORE}
    notices = capabilities.public_notices()
    context = domain.Context(today=clock.today(), alert_themes=frozenset(n.theme for n in notices),
                             chosen_themes=chosen, interests=interests, set_aside=set_aside)
    cards = services.ranked_cards(services._live_pages(), context, current_only=True)
    return [{"id": c.page.pk, "url": c.page.url or "", "titre": c.page.title} for c in cards[:limit]]


class Recommendation(Schema):
    id: int
    url: str
    titre: str


class RecommendationsOut(Schema):
    site: str
    resultats: list[Recommendation]


def _invalid(field: str, message: str) -> NoReturn:
    """A 422 naming the field, in the API's shared error shape (`ErrorOut`, declared for every operation)."""
    raise ValidationError([{"loc": ["query", field], "msg": message}])


@router.get("/recommendations", response={200: RecommendationsOut},
            summary="Contenus recommandés pour un visiteur d'un autre site (pseudonyme propre à ce site)")
def recommendations(request: HttpRequest, site: str = "", visiteur: str = "", limite: str = "10"
                    ) -> Status[dict[str, Any]]:
    if not SITE_CODE.fullmatch(site):
        return _invalid("site", "code de site attendu : 1 à 40 caractères parmi a-z, 0-9 et « - »")
    if site not in sites():
        return _invalid("site", f"site « {site} » inconnu : il n'est pas déclaré dans ASSIST_SITES")
    if not (limite.isascii() and limite.isdigit() and len(limite) <= 3 and 1 <= int(limite) <= MAX_LIMIT):
        return _invalid("limite", f"nombre entier de 1 à {MAX_LIMIT} attendu")
    if visiteur and not PSEUDONYM.fullmatch(visiteur):
        return _invalid("visiteur", "pseudonyme de 40 caractères au plus attendu, parmi A-Z, a-z, 0-9, « - » et « _ »")
    who = request.auth  # type: ignore[attr-defined]
    profile = None if getattr(who, "is_test", False) or not visiteur else profile_for(site, visiteur)
    if profile is not None:  # a visitor's profile read for another site: logged like any read of personal data
        audit.record(who.actor, "assist.recommandations", purpose=PURPOSE, detail={"site": site})
    return Status(200, {"site": site, "resultats": recommend(profile, int(limite))})


API = ApiRouter("/assist", router, {recommendations: api("assist:read")})
SCOPES = (Scope("assist:read", "Lire les contenus recommandés du site public pour un visiteur pseudonyme d'un "
                               "autre site de la collectivité (jamais ses centres d'intérêt)",
                frozenset({PURPOSE})),)
