"""The site's first-party events, received from its own script (`static/assist/events.js`) at
`POST /site/evenements/`, and the counts personalisation is measured by.

What a request goes through, in this order (the first that fails answers):
1. **Bots**: an empty User-Agent or one naming a robot, a crawler or an HTTP library → 204, nothing kept.
2. **Size**: a body over `MAX_BYTES` (16 KiB) or over `MAX_EVENTS` (50) events → 413, in French.
3. **Validation**: every event checked (`type` one of `_interests.KINDS`; `page` a published page's id;
   `theme` a known theme; `surface` « home » or « theme:<thème> »; `bloc` a block's id; `q` a search, for
   « recherche » only); one bad event → 400 naming its index and field, nothing kept.
4. **Same origin**: the Origin (else the Referer) must be this site → else 403. It stands in for the CSRF token
   so that `navigator.sendBeacon` can post; a cookie alone cannot make another site's page send events.
5. **Rate**: at most `settings.EVENTS_PER_MINUTE` events a minute from one client address → 429 with
   Retry-After: read first (a client over its budget costs no classifier), counted in the batch's transaction.
   The window is `kernel.ratelimit`'s, in the database, so every web worker shares it; it holds a keyed hash of the
   address, never the address itself.
6. **Consent**: without consent to personalisation, only the anonymous counts rise (clicks, downloads and forms by
   day and place; block clicks under the group « anonyme ») — no profile, no event row. With it, the events and
   the profile's interests are written in one transaction (`_profiles.record`), the profile made if needed.

A page's themes are read on the server (never the browser's word for a page), a search's theme comes from the
query classifier and its words are dropped at once. Page views and searches are already counted in the
anonymous audience when the server serves them: the script's copies are not counted twice.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from wagtail.models import Page

from proactif.assist import _audience, _classify, _interests, _profiles
from proactif.assist.models import AudienceCount, BlockStat, SearchEntry, Theme
from proactif.kernel import ratelimit
from proactif.kernel.middleware import client_ip

MAX_BYTES = 16 * 1024
MAX_EVENTS = 50
MAX_QUERY = 200
MAX_ID = 2**63
FIELDS = frozenset({"type", "page", "theme", "surface", "bloc", "q"})
BLOCK = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
BOTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|scraper|scrapy|lighthouse|pagespeed|gtmetrix|pingdom|uptime|monitor|"
    r"validator|preview|facebookexternalhit|embedly|python|curl|wget|httpclient|http-client|okhttp|java/|libwww|"
    r"perl|ruby|go-http|node-fetch|axios|phantomjs", re.IGNORECASE)
COUNTED = {"clic", "telechargement", "formulaire"}  # page views and searches are counted when served


def _json(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"erreur": message}
    if errors:
        body["erreurs"] = errors
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def is_bot(request: HttpRequest) -> bool:
    agent = request.headers.get("User-Agent", "").strip()
    return not agent or bool(BOTS.search(agent))


def same_origin(request: HttpRequest) -> bool:
    """The request comes from one of our pages: its Origin (else its Referer) is this host, or a trusted origin."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        host = request.get_host()
    except DisallowedHost:
        return False
    return parts.netloc.lower() == host.lower() and (parts.scheme == "https") == request.is_secure()


def budget(request: HttpRequest, events: int) -> tuple[str, str, int, int]:
    """This client address's budget of events a minute, as `kernel.ratelimit` takes it: scope, subject, amount and
    limit. `ratelimit.check` reads it (the early refusal, before the classifier runs), `ratelimit.take` spends it."""
    return "assist:evenements", client_ip(request) or "", events, settings.EVENTS_PER_MINUTE


def _too_many(wait: int) -> HttpResponse:
    response = _json(429, f"Trop d'événements depuis cette adresse : réessayez dans {wait} secondes.")
    response["Retry-After"] = str(wait)
    return response


# --- validation ----------------------------------------------------------------------------------------------------
def _error(index: int, field: str, message: str) -> dict[str, Any]:
    return {"index": index, "champ": field, "message": message}


def _page_id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value < MAX_ID else None


def validate(raw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[int, list[str]]]:
    """The events as `_profiles.record` takes them, the errors (index, field, message in French), and the themes
    of the pages they name."""
    themes = set(Theme.objects.values_list("slug", flat=True))
    errors: list[dict[str, Any]] = []
    clean: list[dict[str, Any]] = []
    for index, event in enumerate(raw):
        if not isinstance(event, dict):
            errors.append(_error(index, "evenement", "un événement est un objet JSON"))
            continue
        for field in sorted(set(event) - FIELDS):
            errors.append(_error(index, str(field)[:40], "champ inconnu"))
        kind = event.get("type")
        if kind not in _interests.KINDS:
            errors.append(_error(index, "type", "type inconnu : " + ", ".join(_interests.KINDS) + " attendu"))
        item: dict[str, Any] = {"type": kind}
        if "page" in event:
            page = _page_id(event["page"])
            if page is None:
                errors.append(_error(index, "page", "numéro de page invalide (un entier de 1 à 2⁶³ − 1)"))
            item["page"] = page
        if "theme" in event:
            if event["theme"] not in themes:
                errors.append(_error(index, "theme", "thème inconnu"))
            item["theme"] = event["theme"]
        if "surface" in event:
            surface = event["surface"]
            if not isinstance(surface, str) or not (surface == "home" or (
                    surface.startswith("theme:") and surface.removeprefix("theme:") in themes)):
                errors.append(_error(index, "surface", "surface inconnue : « home » ou « theme:<thème> » attendu"))
            item["surface"] = surface
        if "bloc" in event:
            block = str(event["bloc"]) if isinstance(event["bloc"], (str, int)) and not isinstance(
                event["bloc"], bool) else ""
            if not BLOCK.fullmatch(block):
                errors.append(_error(index, "bloc", "identifiant de bloc invalide"))
            elif "surface" not in event:
                errors.append(_error(index, "surface", "un bloc se donne avec la surface où il est affiché"))
            item["bloc"] = block
        if "q" in event:
            query = event["q"]
            if kind != "recherche":
                errors.append(_error(index, "q", "une recherche (q) ne va qu'avec le type « recherche »"))
            elif not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY:
                errors.append(_error(index, "q", f"recherche vide ou de plus de {MAX_QUERY} caractères"))
            item["q"] = query
        clean.append(item)
    wanted = {e["page"] for e in clean if e.get("page")}
    wanted |= {int(e["bloc"]) for e in clean if str(e.get("bloc", "")).isdigit() and int(e["bloc"]) < MAX_ID}
    pages = _profiles.page_themes(wanted)
    missing = {e["page"] for e in clean if e.get("page")} - set(pages)
    if missing:  # the home and the sections are published pages without themes
        found = set(Page.objects.live().public().filter(pk__in=missing, depth__gt=1)  # not Wagtail's root
                    .values_list("pk", flat=True))
        pages.update({pk: [] for pk in found})
        for index, event in enumerate(clean):
            if event.get("page") in missing - found:
                errors.append(_error(index, "page", "page inconnue ou non publiée"))
    for index, event in enumerate(clean):  # a block is a theme tile or a published page's card, nothing else
        block = str(event.get("bloc") or "")
        if block and BLOCK.fullmatch(block) and not (block in themes or (block.isdigit() and int(block) in pages)):
            errors.append(_error(index, "bloc", "bloc inconnu : un thème ou une page publiée du site"))
    return clean, sorted(errors, key=lambda e: (e["index"], e["champ"])), pages


def _resolve(events: list[dict[str, Any]], pages: Mapping[int, list[str]]) -> list[dict[str, Any]]:
    """Each event as the profile learns it: a search's theme from the classifier (its words dropped), a click on a
    theme tile its theme, a click on a page's card that page."""
    queries = [e["q"] for e in events if e.get("q")]
    classified = iter(c.theme for c in _classify.classify(queries)) if queries else iter(())
    out = []
    for event in events:
        item: dict[str, Any] = {"type": event["type"]}
        if event.get("q"):
            item["theme"] = next(classified)
        elif event.get("page"):
            item["page"] = event["page"]
        elif event.get("theme"):
            item["theme"] = event["theme"]
        elif (block := str(event.get("bloc", ""))) and event["type"] == "clic":
            if block.isdigit() and int(block) in pages:
                item["page"] = int(block)
            elif not block.isdigit():
                item["theme"] = block
        out.append(item)
    return out


# --- counting --------------------------------------------------------------------------------------------------
def add_block_counts(counts: Mapping[tuple[str, str, str], tuple[int, int]]) -> None:
    """BlockStat: (surface, group, block) → (shown, clicks) added to today's row."""
    _audience.add(BlockStat, ("surface", "group", "block"), counts, ("shown", "clicks"))


def add_audience_counts(counts: Mapping[tuple[str, str], int]) -> None:
    """The anonymous audience (`_audience`): (path, kind) → events added to today's row."""
    _audience.add(AudienceCount, ("path", "kind"), {k: (n,) for k, n in counts.items()}, ("count",))


def _counts(events: list[dict[str, Any]], group: str, urls: Mapping[int, str]) -> tuple[
        dict[tuple[str, str, str], tuple[int, int]], dict[tuple[str, str], int]]:
    blocks: Counter[tuple[str, str, str]] = Counter()
    audience: Counter[tuple[str, str]] = Counter()
    for event in events:
        if event["type"] == "clic" and event.get("bloc") and event.get("surface"):
            blocks[(event["surface"], group, event["bloc"])] += 1
        if event["type"] in COUNTED:
            place = urls.get(event.get("page") or 0) or event.get("surface") or ""
            audience[(place[:300], event["type"])] += 1
    return {k: (0, n) for k, n in blocks.items()}, dict(audience)


# --- the endpoint ----------------------------------------------------------------------------------------------
def receive(request: HttpRequest) -> HttpResponse:
    if is_bot(request):
        return HttpResponse(status=204)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BYTES or len(request.body) > MAX_BYTES:
        return _json(413, f"Envoi trop volumineux : {MAX_BYTES // 1024} Kio au plus.")
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, RecursionError):  # RecursionError: brackets nested thousands deep, well under 16 KiB
        return _json(400, "Le corps de la requête n'est pas du JSON valide.")
    raw = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(raw, list):
        return _json(400, "Le corps attendu est un objet {\"events\": [...]}.",
                     [{"index": None, "champ": "events", "message": "liste d'événements attendue"}])
    if len(raw) > MAX_EVENTS:
        return _json(413, f"Trop d'événements : {MAX_EVENTS} au plus par envoi ({len(raw)} reçus).")
    events, errors, pages = validate(raw)
    if errors:
        first = errors[0]
        return _json(400, f"Événement {first['index']}, champ « {first['champ']} » : {first['message']}. "
                          "Rien n'a été enregistré.", errors)
    if not same_origin(request):
        return _json(403, "Les événements ne sont acceptés que depuis les pages du site.")
    response = HttpResponse(status=204)
    if not events:
        return response
    if (wait := ratelimit.check(*budget(request, len(events)))) is not None:
        return _too_many(wait)
    profile = _profiles.ensure(request, response)
    group = _profiles.group(profile) if profile is not None else "anonyme"
    urls = dict(SearchEntry.objects.filter(page_id__in=[e["page"] for e in events if e.get("page")
                                                        and e["type"] in COUNTED]).values_list("page_id", "url"))
    blocks, audience = _counts(events, group, urls)
    learnt = _resolve(events, pages) if profile is not None else []  # the classifier runs outside the transaction
    with transaction.atomic():  # the rate's count first, in the batch's own transaction
        if (wait := ratelimit.take(*budget(request, len(events)))) is None:
            if profile is not None:
                _profiles.record(profile, learnt, pages)
            add_block_counts(blocks)
            add_audience_counts(audience)
    if wait is not None:  # the window filled meanwhile: nothing recorded, the profile's cookie still set
        refused = _too_many(wait)
        refused.cookies = response.cookies
        return refused
    return response
