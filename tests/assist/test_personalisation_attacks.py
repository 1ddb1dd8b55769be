"""Issue 20 seen by an attacker: agents of another service on the editors' pages, keys of the wrong kind or scope
on the recommendations API, forged, tampered and cross-purpose signed links, junk ids, hostile event batches,
someone else's profile cookie, hostile newsletter addresses and redirect targets, hostile segment rules and
e-mail feedback reports. Each must get a clear 4xx (or the design's neutral 2xx) in French, never a 500, and
nothing half-written."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from proactif.accounts import services as accounts
from proactif.assist import _newsletter as newsletter
from proactif.assist import _profiles
from proactif.assist.models import (
    AudienceCount,
    BlockStat,
    Edition,
    EditionBlock,
    Profile,
    ProfileEvent,
    SearchEntry,
    Segment,
    Subscriber,
    Theme,
)
from proactif.kernel import clock
from proactif.messaging import _receipts as receipts
from proactif.messaging.models import EmailFeedback, OutboxMessage
from tests.assist.test_profiles import creche_pages, pages_of, profile_of, send, visitor
from tests.conftest import fr
from tests.web.test_pages import logged_in

pytestmark = pytest.mark.django_db
EVENTS = "/site/evenements/"
API = "/api/v1/assist/recommendations"
JUNK_IDS = [str(2**63), "-1", "abc", "0", "9" * 19]


def tables() -> tuple[int, ...]:
    """Everything an event batch or a subscription could write."""
    return (Profile.objects.count(), ProfileEvent.objects.count(), sum(AudienceCount.objects.values_list(
        "count", flat=True)), sum(BlockStat.objects.values_list("clicks", flat=True)), Subscriber.objects.count(),
        Segment.objects.count(), EmailFeedback.objects.count())


def french_json(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.content[:400])
    text = response.json().get("erreur") or response.json().get("detail")
    assert isinstance(text, str) and text, response.content
    return text


# --- agents of another service on the editors' pages --------------------------------------------------------------
@pytest.mark.parametrize("path", ["/redaction/segments/", "/redaction/segments/nouveau/",
                                  "/redaction/lettres/", "/redaction/personnalisation/"])
@pytest.mark.parametrize("who", ["ccas", "etat_civil", "police"])
def test_an_agent_of_another_service_is_refused_on_the_editors_pages(agents, path: str, who: str) -> None:
    client = logged_in(Client(), who)
    assert client.get(path).status_code == 403
    before = tables()
    assert client.post(path, {"slug": "intrus", "name": "Intrus", "rules": '[{"choisi": "seniors"}]',
                              "titre": "Lettre pirate"}).status_code in (403, 405)
    assert tables() == before and not Edition.objects.filter(title="Lettre pirate").exists()


@pytest.mark.parametrize("path", ["/redaction/segments/", "/redaction/lettres/", "/redaction/personnalisation/"])
def test_an_anonymous_visitor_is_sent_to_the_login(path: str) -> None:
    answer = Client().get(path)
    assert answer.status_code == 302 and ("login" in answer["Location"] or "connexion" in answer["Location"])


@pytest.mark.parametrize("junk", JUNK_IDS)
@pytest.mark.parametrize("suffix", ["", "apercu/", "envoyer/"])
def test_junk_edition_ids_are_404_never_500(agents, junk: str, suffix: str) -> None:
    client = logged_in(Client(), "communication")
    answer = client.get(f"/redaction/lettres/{junk}/{suffix}") if suffix != "envoyer/" else \
        client.post(f"/redaction/lettres/{junk}/{suffix}")
    assert answer.status_code == 404


@pytest.mark.parametrize("junk", ["inconnu", "a" * 61, "-1", "%00"])
def test_junk_segment_slugs_are_404(agents, junk: str) -> None:
    assert logged_in(Client(), "communication").get(f"/redaction/segments/{junk}/").status_code == 404


def test_junk_page_ids_in_an_edition_are_dropped_with_a_french_message(agents) -> None:
    client = logged_in(Client(), "communication")
    made = client.post("/redaction/lettres/", {"titre": "Lettre de décembre"})
    assert made.status_code == 302
    edition = Edition.objects.get(title="Lettre de décembre")
    answer = client.post(f"/redaction/lettres/{edition.pk}/", {
        "titre": "Lettre de décembre", "pages": [str(2**63), "-1", "abc", "9" * 30], "listes": ["sport"]})
    assert answer.status_code == 400 and fr("Choisissez au moins une page publiée.") in answer.content.decode()
    assert not EditionBlock.objects.filter(edition=edition).exists()
    unknown = client.post(f"/redaction/lettres/{edition.pk}/", {
        "titre": "Lettre de décembre", "pages": ["999999999999"], "listes": ["sport"]})
    assert unknown.status_code == 400 and not EditionBlock.objects.filter(edition=edition).exists()
    long_title = client.post("/redaction/lettres/", {"titre": "x" * 151})
    assert long_title.status_code == 400


# --- segments: hostile rules -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("rules", "field_text"), [
    (json.dumps([{"choisi": "seniors"}] * 10_000), ""),
    ("[" * 5000 + "]" * 5000, ""),
    (json.dumps([{"ou": [{"ou": [{"ou": [{"ou": [{"ou": [{"choisi": "seniors"}]}]}]}]}]}]), ""),
    (json.dumps([{"evenements": "page_vue", "theme": "sante", "min": 1, "jours": 30}]), "sensible"),
    (json.dumps([{"evenements": "page_vue", "theme": "handicap", "min": 1, "jours": 30}]), "sensible"),
    (json.dumps([{"interet": "seniors", "min": 10**400}]), ""),
    (json.dumps([{"interet": "seniors", "min": "abc"}]), ""),
    (json.dumps([{"evenements": "page_vue", "theme": "sport", "min": 2**63, "jours": -1}]), ""),
    ('[{"choisi": "seniors"}]\x00', None),
    ("pas du json", ""),
    (json.dumps({"choisi": "seniors"}), ""),
    (json.dumps([{"choisi": "\x00seniors"}]), ""),
    ("[1e99999]", ""),
    ("[NaN]", ""),
])
def test_hostile_segment_rules_are_a_french_400_and_nothing_is_saved(agents, rules: str,
                                                                     field_text: str | None) -> None:
    client = logged_in(Client(), "communication")
    before = Segment.objects.count()
    for action in ("apercu", "enregistrer"):
        answer = client.post("/redaction/segments/nouveau/", {"slug": "attaque", "name": "Attaque", "rules": rules,
                                                              "action": action})
        if field_text is None:  # the NUL is dropped: a valid rule
            assert answer.status_code in (200, 302)
            continue
        assert answer.status_code == 400, (rules[:60], answer.status_code)
        if field_text:
            assert field_text in answer.content.decode()
    if field_text is not None:
        assert Segment.objects.count() == before


# --- the recommendations API --------------------------------------------------------------------------------------
@pytest.fixture
def partner_sites(settings) -> None:
    settings.ASSIST_SITES = ["mediatheque", "piscine"]


def bearer(scopes: list[str], kind: str = "live", service: str = "communication") -> dict[str, str]:
    _, token = accounts.create_api_key(service, f"site partenaire ({kind})", kind, scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_key_of_another_purpose_is_refused_and_a_test_key_reads_no_visitor(partner_sites) -> None:
    from proactif.assist import api
    from proactif.audit.models import AccessLog

    client = Client()
    for scope, service in (("registry:read", "etat_civil"), ("alerts:read", "police_municipale"),
                           ("audit:read", "dpo")):
        try:
            headers = bearer([scope], service=service)
        except ValueError:
            continue
        answer = client.get(API, {"site": "mediatheque"}, **headers)
        assert answer.status_code == 403, (scope, answer.status_code)
        assert answer.json()["detail"] and "forbidden" not in answer.content.decode().lower()
    now = clock.now()
    family = Profile.objects.create(key="f" * 32, consent_id="c" * 32, created_at=now, seen_at=now,
                                    chosen={"famille-enfance": True})
    name = api.pseudonym(family, "mediatheque")
    logged = AccessLog.objects.filter(action="assist.recommandations").count()
    test = client.get(API, {"site": "mediatheque", "visiteur": name}, **bearer(["assist:read"], "test"))
    default = client.get(API, {"site": "mediatheque"}, **bearer(["assist:read"]))
    assert test.status_code == 200 and test.json() == default.json()
    assert AccessLog.objects.filter(action="assist.recommandations").count() == logged  # nobody was read
    assert client.get(API, {"site": "mediatheque"}, HTTP_AUTHORIZATION="Bearer pxk_forgee").status_code == 401


@pytest.mark.parametrize("query", [
    {"site": "mediatheque", "limite": str(2**63)}, {"site": "mediatheque", "limite": "-1"},
    {"site": "mediatheque", "limite": "abc"}, {"site": "mediatheque", "limite": "١٠"},
    {"site": "mediatheque", "visiteur": "-1\x00"}, {"site": "abc"}, {"site": "\x00"},
    {"site": "mediatheque", "visiteur": "é" * 10},
])
def test_junk_api_parameters_are_a_422_naming_the_field(partner_sites, query: dict[str, str]) -> None:
    answer = Client().get(API, query, **bearer(["assist:read"]))
    assert answer.status_code == 422, answer.content
    detail = answer.json()["detail"][0]
    assert detail["loc"][0] == "query" and detail["msg"]


@pytest.mark.parametrize("junk", ["abc", "-1", str(2**63), "x" * 41, "MEDIATHEQUE"])
def test_junk_pseudonym_sites_are_404_in_french(partner_sites, junk: str) -> None:
    answer = visitor().get(f"/site/pseudonyme/{junk}/")
    assert answer.status_code == 404 and answer.json()["detail"] == "site inconnu"


# --- the events endpoint ------------------------------------------------------------------------------------------
def test_51_events_and_17_kib_are_413_in_french_and_nothing_is_written() -> None:
    client = visitor()
    page = creche_pages()[0]
    before = tables()
    assert "50 au plus" in french_json(send(client, [{"type": "page_vue", "page": page}] * 51), 413)
    big = json.dumps({"events": [{"type": "recherche", "q": "a" * 190}] * 80})
    assert len(big) > 17 * 1024
    assert "16 Kio" in french_json(send(client, big), 413)
    assert tables() == before


@pytest.mark.parametrize("body", [
    b"pas du json", b"\xff\xfe\x00", b"", b"null", b"[]", b'{"events": {}}', b'{"events": "x"}',
    b'{"events": [1, 2]}', b'{"events": [[{"type": "clic"}]]}', b'{"events": [{"type": "clic", "x": {"y": {}}}]}',
    b'{"events": [{"type": "page_vue", "page": 99999999999999999999999999}]}',
    b'{"events": [{"type": "page_vue", "page": -1}]}', b'{"events": [{"type": "page_vue", "page": "abc"}]}',
    b'{"events": [{"type": "page_vue", "page": 9223372036854775808}]}',
    b'{"events": [{"type": "page_vue", "page": 1.5}]}', b'{"events": [{"type": "page_vue", "page": NaN}]}',
    b'{"events": [{"type": "page_vue", "page": true}]}', b'{"events": [{"type": "page_vue", "page": 1e400}]}',
    b'{"events": [{"type": "clic", "bloc": 9223372036854775808, "surface": "home"}]}',
    b'{"events": [{"type": "clic", "bloc": -1, "surface": "home"}]}',
    b'{"events": [{"type": "clic", "bloc": "pas-un-bloc-du-site", "surface": "home"}]}',
    b'{"events": [{"type": "clic", "bloc": "999999999999999999", "surface": "home"}]}',
    b'{"events": [{"type": "clic", "bloc": "a\\u0000b", "surface": "home"}]}',
    b'{"events": [{"type": "clic", "theme": "sport\\u0000"}]}',
    b'{"events": [{"type": "page_vue\\u0000"}]}',
    b'{"events": [{"type": "clic", "surface": "theme:\\u0000"}]}',
    b'{"events": [{"type": "recherche", "q": ["a"]}]}',
    b'{"events": [{"type": "recherche", "q": "' + b"a" * 201 + b'"}]}',
    b'{"events": [{"type": "page_vue", "page": ' + b"9" * 5000 + b"}]}",
    b'{"events": [{"\\u0000": 1, "type": "clic"}]}',
    b'{"events": [{"type": "clic", "theme": "sante", "bloc": {"x": 1}, "surface": "home"}]}',
    b'{"events": [' + b"[" * 40 + b"]" * 40 + b"]}",
])
def test_junk_bodies_are_a_french_400_never_a_500(body: bytes) -> None:
    client = visitor()
    before = tables()
    answer = send(client, body)
    assert answer.status_code == 400, (body[:80], answer.status_code, answer.content[:200])
    assert answer.json()["erreur"]
    assert tables() == before


def test_deeply_nested_json_within_16_kib_is_a_400_not_a_500() -> None:
    """Python's JSON parser raises RecursionError (not a ValueError) past ~1,000 levels: 5,000 brackets fit in
    10 KB, under the 16 KiB limit."""
    client = visitor()
    before = tables()
    body = '{"events": [' + "[" * 5000 + "]" * 5000 + "]}"
    assert len(body) < 16 * 1024
    client.raise_request_exception = False
    answer = send(client, body)
    assert answer.status_code == 400, answer.status_code
    assert tables() == before


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "application/json", "image/png"])
def test_any_content_type_is_read_as_the_body_and_form_bodies_are_400(content_type: str) -> None:
    client = visitor()
    page = creche_pages()[0]
    good = json.dumps({"events": [{"type": "page_vue", "page": page}]})
    answer = client.post(EVENTS, data=good, content_type=content_type, HTTP_ORIGIN="http://testserver")
    assert answer.status_code == 204
    before = tables()
    form = client.post(EVENTS, data="events=page_vue&page=1", content_type=content_type,
                       HTTP_ORIGIN="http://testserver")
    assert form.status_code == 400 and tables() == before


def test_a_nul_in_a_search_is_harmless_and_its_words_are_dropped() -> None:
    client = visitor()
    answer = send(client, [{"type": "recherche", "q": "crèche\x00 inscription\x00"}])
    assert answer.status_code == 204
    stored = json.dumps(list(ProfileEvent.objects.values()), default=str)
    assert "\\u0000" not in stored and "crèche" not in stored


def test_unpublished_and_tree_root_pages_are_refused() -> None:
    from wagtail.models import Page

    client = visitor()
    page = Page.objects.get(pk=creche_pages()[0]).specific
    page.unpublish()
    before = tables()
    gone = send(client, [{"type": "page_vue", "page": page.pk}])
    assert "page inconnue ou non publiée" in french_json(gone, 400)
    root = Page.get_first_root_node()
    assert root is not None and root.depth == 1
    outside = send(client, [{"type": "telechargement", "page": root.pk}])
    assert outside.status_code == 400, "the tree's root is no page of the site"
    assert tables() == before


def test_a_health_theme_is_never_inferred_from_pages_clicks_blocks_or_searches() -> None:
    client = visitor()
    sante = SearchEntry.objects.filter(themes__contains="sante").values_list("page_id", flat=True)[:2]
    events: list[dict[str, Any]] = [{"type": "page_vue", "page": p} for p in sante]
    events += [{"type": "clic", "theme": "sante"}, {"type": "clic", "theme": "handicap"},
               {"type": "clic", "bloc": "sante", "surface": "theme:sante"},
               {"type": "recherche", "q": "rendez-vous vaccination centre de santé médecin"},
               {"type": "formulaire", "theme": "sante"}, {"type": "clic", "bloc": "sport", "surface": "home"}]
    assert send(client, events).status_code == 204
    profile = profile_of(client)
    assert "sante" not in profile.interests and "handicap" not in profile.interests
    assert not ProfileEvent.objects.filter(profile=profile, theme__in=["sante", "handicap"]).exists()
    assert not ProfileEvent.objects.filter(profile=profile, page_id__in=list(sante)).exists()
    assert "sante" not in _profiles.scores(profile) or _profiles.scores(profile)["sante"] <= 0


@pytest.mark.parametrize(("headers", "allowed"), [
    ({"HTTP_ORIGIN": "https://evil.example"}, False),
    ({"HTTP_ORIGIN": "null"}, False),
    ({"HTTP_ORIGIN": "http://testserver.evil.example"}, False),
    ({"HTTP_ORIGIN": "http://evil.example@testserver"}, None),
    ({"HTTP_ORIGIN": "https://testserver"}, False),  # the scheme differs from the request's
    ({"HTTP_ORIGIN": "javascript:alert(1)"}, False),
    ({}, False),
    ({"HTTP_REFERER": "https://evil.example/site/"}, False),
    ({"HTTP_REFERER": "http://testserver/site/"}, True),
    ({"HTTP_ORIGIN": "https://evil.example", "HTTP_REFERER": "http://testserver/site/"}, False),
])
def test_only_the_sites_own_pages_may_post_events(headers: dict[str, str], allowed: bool | None) -> None:
    client = visitor()
    before = tables()
    answer = client.post(EVENTS, data=json.dumps({"events": [{"type": "clic", "bloc": "sport", "surface": "home"}]}),
                         content_type="text/plain", **headers)
    if allowed:
        assert answer.status_code == 204
        return
    if allowed is None:  # userinfo in an Origin: no browser sends it; either answer is safe, never a 500
        assert answer.status_code in (204, 403)
        return
    assert "que depuis les pages du site" in french_json(answer, 403)
    assert tables() == before


def test_a_bot_or_an_empty_user_agent_gets_a_neutral_204_and_nothing_is_kept() -> None:
    before = tables()
    for agent in ("", "curl/8.0", "Googlebot/2.1"):
        client = Client(HTTP_USER_AGENT=agent)
        client.post("/site/cookies/", {"tout": "accepter"})
        answer = send(client, [{"type": "clic", "bloc": "sport", "surface": "home"}])
        assert answer.status_code == 204 and _profiles.COOKIE not in answer.cookies
    assert tables() == before


def test_a_forged_profile_cookie_reaches_no_one_elses_profile() -> None:
    victim = visitor()
    page = creche_pages()[0]
    assert send(victim, [{"type": "page_vue", "page": page}]).status_code == 204
    target = profile_of(victim)
    events_before = ProfileEvent.objects.filter(profile=target).count()
    attacker = visitor()
    for forged in (target.key, f"{target.key}:forged", signing.dumps(target.key, salt="autre.sel"),
                   signing.dumps(target.key, salt=_profiles.SALT, key="pas-la-cle-du-site"),
                   signing.dumps(target.pk, salt=_profiles.SALT), "\x00", "a" * 4000):
        attacker.cookies[_profiles.COOKIE] = forged
        answer = send(attacker, [{"type": "page_vue", "page": pages_of("sport", count=1)[0]}])
        assert answer.status_code == 204
        assert ProfileEvent.objects.filter(profile=target).count() == events_before
        for path in ("/site/pourquoi/reinitialiser/", "/site/pourquoi/supprimer/"):
            attacker.cookies[_profiles.COOKIE] = forged
            assert attacker.post(path).status_code == 302
        assert Profile.objects.filter(pk=target.pk).exists()
        target.refresh_from_db()
        assert target.interests, "the victim's interests were reset by a forged cookie"


def test_a_merged_alias_cookie_writes_to_the_profile_it_reads_as_and_a_frozen_profile_learns_nothing() -> None:
    alias_client = visitor()
    page = creche_pages()[0]
    send(alias_client, [{"type": "page_vue", "page": page}])
    alias = profile_of(alias_client)
    known_client = visitor()
    send(known_client, [{"type": "page_vue", "page": page}])
    known = profile_of(known_client)
    _profiles.merge(alias, known, "test")
    before = ProfileEvent.objects.filter(profile=alias).count()
    assert send(alias_client, [{"type": "page_vue", "page": creche_pages()[1]}]).status_code == 204
    assert ProfileEvent.objects.filter(profile=alias).count() == before
    assert ProfileEvent.objects.filter(profile=known, page_id=creche_pages()[1]).exists()
    frozen = visitor()
    send(frozen, [{"type": "page_vue", "page": page}])
    mine = profile_of(frozen)
    frozen.post("/site/cookies/", {"tout": "refuser"})
    count = ProfileEvent.objects.filter(profile=mine).count()
    interests = Profile.objects.get(pk=mine.pk).interests
    assert send(frozen, [{"type": "page_vue", "page": creche_pages()[2]}]).status_code == 204
    mine.refresh_from_db()
    assert mine.frozen and mine.interests == interests
    assert ProfileEvent.objects.filter(profile=mine).count() == count


# --- newsletters: addresses ---------------------------------------------------------------------------------------
@pytest.fixture
def no_mail(monkeypatch) -> list[Any]:
    sent: list[Any] = []
    monkeypatch.setattr(newsletter, "_send", lambda specs: sent.extend(specs) or {})
    return sent


def test_the_same_address_in_any_case_is_one_subscription(no_mail) -> None:
    client = Client()
    for address in ("Parent.Attaque@Example.org", "parent.attaque@example.org", "PARENT.ATTAQUE@EXAMPLE.ORG",
                    " parent.attaque@example.ORG "):
        assert client.post("/site/lettre/", {"email": address, "listes": ["sport"]}).status_code == 302
    assert Subscriber.objects.filter(email__iexact="parent.attaque@example.org").count() == 1


@pytest.mark.parametrize("address", [
    "victime@example.org\r\nBcc: tous@example.org", "victime@example.org\nBcc: tous@example.org",
    "victime@example.org\rBcc: tous@example.org", "victime@example.org%0d%0aBcc:x@example.org",
    "a" * 290 + "@example.org", "victime@example.org\x00", "<victime@example.org>", "victime@example.org, b@ex.org",
    "\"x\"@example.org", "victime@", "@example.org", "",
])
def test_hostile_addresses_are_refused_in_french_and_nothing_is_written(no_mail, address: str) -> None:
    before = tables()
    answer = Client().post("/site/lettre/", {"email": address, "listes": ["sport"]})
    assert answer.status_code == 400, (address[:40], answer.status_code)
    text = answer.content.decode()
    assert "adresse e-mail" in text.lower() or "Indiquez votre adresse" in text
    assert tables() == before and no_mail == []


def test_a_unicode_domain_is_accepted_or_refused_cleanly(no_mail) -> None:
    answer = Client().post("/site/lettre/", {"email": "jeanne@mairie-évry.fr", "listes": ["sport"]})
    assert answer.status_code in (302, 400)
    if answer.status_code == 302:
        assert all("\r" not in s.address and "\n" not in s.address for s in no_mail)


def test_unknown_lists_are_refused(no_mail) -> None:
    before = tables()
    answer = Client().post("/site/lettre/", {"email": "a@example.org", "listes": ["inconnue", "\x00", "-1"]})
    assert answer.status_code == 400 and "Choisissez au moins une liste." in answer.content.decode()
    assert tables() == before


# --- newsletters: signed links ------------------------------------------------------------------------------------
def subscriber(email: str = "abonne.attaque@example.org", status: str = Subscriber.ACTIVE) -> Subscriber:
    row = Subscriber.objects.create(email=email, status=status, consent_version=newsletter.CONSENT_VERSION,
                                    created_at=clock.now(), confirmed_at=clock.now())
    row.lists.set(Theme.objects.filter(slug="sport"))
    return row


def bad_link(answer: Any) -> None:
    assert answer.status_code == 400, answer.status_code
    assert fr("Ce lien n'est pas valide") in answer.content.decode()


ROUTES = {"confirmation": "/site/lettre/confirmation/{}/", "preferences": "/site/lettre/preferences/{}/",
          "desinscription": "/site/lettre/desinscription/{}/", "lien": "/site/lettre/lien/{}/"}


@pytest.mark.parametrize("used_as", list(ROUTES))
@pytest.mark.parametrize("made_for", ["confirmation", "preferences", "desinscription"])
def test_a_token_of_one_purpose_is_refused_for_another(used_as: str, made_for: str) -> None:
    if used_as == made_for:
        return
    someone = subscriber(status=Subscriber.PENDING if made_for == "confirmation" else Subscriber.ACTIVE)
    value = newsletter.token(made_for, someone)
    client = Client()
    bad_link(client.get(ROUTES[used_as].format(value)))
    if used_as in ("preferences", "desinscription"):
        bad_link(client.post(ROUTES[used_as].format(value), {"action": "supprimer"}))
    assert Subscriber.objects.filter(pk=someone.pk, status=someone.status).exists()


@pytest.mark.parametrize("junk", [*JUNK_IDS, "a" * 3000, "x:y:z", "%00", "e30:1:2"])
@pytest.mark.parametrize("kind", list(ROUTES))
def test_junk_tokens_are_a_french_400(kind: str, junk: str) -> None:
    someone = subscriber()
    bad_link(Client().get(ROUTES[kind].format(junk)))
    assert Subscriber.objects.filter(pk=someone.pk, status=Subscriber.ACTIVE).exists()


def test_tampered_and_forged_tokens_are_refused() -> None:
    someone = subscriber()
    other = subscriber("autre.abonne@example.org")
    good = newsletter.token("preferences", someone)
    payload, _, signature = good.rpartition(":")
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    forged_key = signing.dumps({"s": other.pk, "e": other.email}, salt=newsletter.SALTS["preferences"],
                               key="pas-la-cle", compress=True)
    bigpk = signing.dumps({"s": 2**63, "e": someone.email}, salt=newsletter.SALTS["preferences"])
    negative = signing.dumps({"s": -1, "e": someone.email}, salt=newsletter.SALTS["preferences"])
    swapped = signing.dumps({"s": someone.pk, "e": other.email}, salt=newsletter.SALTS["preferences"])
    client = Client()
    for value in (flipped, forged_key, bigpk, negative, swapped, payload + ":" + signature[::-1]):
        bad_link(client.get(ROUTES["preferences"].format(value)))
    assert Subscriber.objects.filter(status=Subscriber.ACTIVE, pk__in=[someone.pk, other.pk]).count() == 2


def test_an_old_link_does_not_reach_a_subscription_made_again_and_expired_confirmation_is_refused(no_mail) -> None:
    someone = subscriber(status=Subscriber.PENDING)
    old = newsletter.token("confirmation", someone)
    with clock.use(clock.FixedClock(clock.now() + __import__("datetime").timedelta(days=8))):
        bad_link(Client().get(ROUTES["confirmation"].format(old)))
    assert Subscriber.objects.get(pk=someone.pk).status == Subscriber.PENDING
    prefs = newsletter.token("preferences", someone)
    Subscriber.objects.filter(pk=someone.pk).update(email="nouvelle.adresse@example.org")
    bad_link(Client().get(ROUTES["preferences"].format(prefs)))


def test_preferences_post_needs_the_csrf_token_and_a_resident_link_cannot_be_forged() -> None:
    someone = subscriber()
    value = newsletter.token("preferences", someone)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(ROUTES["preferences"].format(value), {"action": "supprimer"}).status_code == 403
    assert Subscriber.objects.filter(pk=someone.pk).exists()
    client = Client()
    answer = client.post(ROUTES["preferences"].format(value), {"action": "relier"})
    assert answer.status_code == 400 and fr("Cette action n'est pas possible ici.") in answer.content.decode()
    assert Subscriber.objects.get(pk=someone.pk).person_id is None
    for action in ("", "abc", "\x00", "-1"):
        assert client.post(ROUTES["preferences"].format(value), {"action": action}).status_code == 400
    lists = client.post(ROUTES["preferences"].format(value), {"action": "listes", "listes": ["inconnue"]})
    assert lists.status_code == 400
    assert list(Subscriber.objects.get(pk=someone.pk).lists.values_list("slug", flat=True)) == ["sport"]


def test_one_click_unsubscribe_post_without_body_twice_and_a_get_that_unsubscribes_no_one() -> None:
    someone = subscriber()
    url = ROUTES["desinscription"].format(newsletter.token("desinscription", someone))
    scanner = Client().get(url + "?List-Unsubscribe=One-Click")
    assert scanner.status_code == 200
    assert Subscriber.objects.get(pk=someone.pk).status == Subscriber.ACTIVE  # a GET (link scanner) changes nothing
    client = Client(enforce_csrf_checks=True)
    first = client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert first.status_code == 204
    assert Subscriber.objects.get(pk=someone.pk).status == Subscriber.UNSUBSCRIBED
    again = client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert again.status_code == 204
    other = subscriber("deuxieme@example.org")
    bare = client.post(ROUTES["desinscription"].format(newsletter.token("desinscription", other)))
    assert bare.status_code == 200 and fr("désabonnement") in bare.content.decode().lower()
    assert Subscriber.objects.get(pk=other.pk).status == Subscriber.UNSUBSCRIBED
    assert Client().put(url).status_code == 405


# --- newsletters: click redirects ---------------------------------------------------------------------------------
@pytest.fixture
def block(settings) -> EditionBlock:
    settings.PUBLIC_URL = "https://mairie.example"
    settings.NEWSLETTER_ALLOWED_DOMAINS = ["partenaire.example"]
    edition = Edition.objects.create(title="Lettre", created_at=clock.now(), created_by="x")
    return EditionBlock.objects.create(edition=edition, page_id=creche_pages()[0], position=0)


def signed(block_id: Any, url: Any) -> str:
    return signing.dumps({"b": block_id, "u": url}, salt=newsletter.SALTS["lien"], compress=True)


@pytest.mark.parametrize("target", [
    "//evil.example/", "https://evil.example@mairie.example.evil.example/", "javascript:alert(1)",
    "\\\\evil.example", "data:text/html,<script>alert(1)</script>", "https://evil.example\\@mairie.example/",
    "https://mairie.example.evil.example/", "ftp://mairie.example/", "https:evil.example", "https:///evil.example",
    "https://evil.example%2f@mairie.example/", "https://mairie.example\r\nLocation: https://evil.example/",
    "https://mairie.example\x00.evil.example/", "/\\evil.example", " https://evil.example",
    "https://evil.example#@mairie.example/", "https://evil.example?@mairie.example/",
])
def test_a_click_redirect_never_leaves_the_site_and_the_allowed_domains(block: EditionBlock, target: str) -> None:
    answer = Client().get(ROUTES["lien"].format(signed(block.pk, target)))
    if answer.status_code == 302:
        from urllib.parse import urlsplit

        location = answer["Location"]
        # what a browser does with it: backslashes are slashes in http(s) URLs
        host = urlsplit(location.replace("\\", "/")).hostname or ""
        assert host in ("mairie.example", "partenaire.example"), (target, location)
        return
    bad_link(answer)
    block.refresh_from_db()
    assert block.clicks == 0


def test_click_redirects_with_junk_block_ids_are_refused(block: EditionBlock) -> None:
    for block_id in (2**63, -1, "abc", None, 10**30, 1.5):
        bad_link(Client().get(ROUTES["lien"].format(signed(block_id, "https://mairie.example/site/"))))
    good = Client().get(ROUTES["lien"].format(signed(block.pk, "https://partenaire.example/agenda")))
    assert good.status_code == 302 and good["Location"] == "https://partenaire.example/agenda"
    block.refresh_from_db()
    assert block.clicks == 1


# --- the resident's page ------------------------------------------------------------------------------------------
def test_newsletter_tokens_and_other_purposes_links_do_not_open_the_residents_page() -> None:
    from proactif.messaging import services as messaging
    from tests.conftest import some_person_id

    someone = subscriber()
    client = Client()
    for value in (newsletter.token("preferences", someone), *JUNK_IDS):
        assert client.get(f"/l/{value}").status_code in (404, 410)
    _, url = messaging.create_link("deadlines.booking", some_person_id(), days=1)
    opened = client.get("/l/" + url.rsplit("/", 1)[1])
    assert opened.status_code == 302 and opened["Location"] != "/site/pour-vous/"
    page = client.get("/site/pour-vous/")
    assert page.status_code == 403 and fr("Cette page s'ouvre avec votre lien personnel") in page.content.decode()
    assert client.post("/site/pour-vous/demarche/", {"cle": "-1"}).status_code == 403


# --- the e-mail feedback webhook ----------------------------------------------------------------------------------
SECRET = "secret-du-relais-attaque"


@pytest.fixture
def relay(settings) -> Client:
    settings.EMAIL_FEEDBACK_SECRETS = json.dumps({"relais": SECRET})
    return Client()


def post_report(client: Client, body: bytes, provider: str = "relais") -> Any:
    stamp = str(int(time.time()))
    return client.post(f"/api/v1/messaging/email-feedback/{provider}", body, content_type="multipart/report",
                       HTTP_X_PROACTIF_TIMESTAMP=stamp,
                       HTTP_X_PROACTIF_SIGNATURE=receipts.signature(SECRET, body, stamp))


def outbox_row(key: str, address: str, provider: str = "smtp", channel: str = "email") -> OutboxMessage:
    now = clock.now()
    return OutboxMessage.objects.create(
        idempotency_key=key, person_id=None, service="communication", purpose="information", lane="bulk",
        policy=[channel], channel=channel, template_key="lettre", context={"abonne": 7}, status="sent",
        provider=provider, provider_message_id=f"<{key}@proactif>", recipient=address, not_before=now,
        created_at=now, updated_at=now, sent_at=now)


def test_reports_for_unknown_addresses_or_messages_are_a_neutral_202(relay) -> None:
    from tests.messaging.test_email_feedback import arf, dsn

    someone = subscriber("abonne.rebond@example.org")
    row = outbox_row("assist-lettre-1-1", someone.email)
    before = tables()
    for body in (dsn("inconnu@example.org", row.idempotency_key), dsn(someone.email, "cle-inconnue"),
                 arf("inconnu@example.org", "cle-inconnue"), dsn(someone.email, "x" * 5000)):
        answer = post_report(relay, body)
        assert answer.status_code == 202 and answer.json()["outcome"] == "ignored", answer.content
    assert tables() == before
    assert Subscriber.objects.get(pk=someone.pk).status == Subscriber.ACTIVE


def test_an_arf_with_cr_only_line_ends_or_junk_is_never_a_500(relay) -> None:
    from tests.messaging.test_email_feedback import arf, dsn

    someone = subscriber("abonne.plainte@example.org")
    row = outbox_row("assist-lettre-2-1", someone.email)
    cr_only = arf(someone.email, row.idempotency_key).replace(b"\r\n", b"\r")
    answer = post_report(relay, cr_only)
    assert answer.status_code in (200, 202, 400), answer.content
    if answer.status_code == 400:
        assert answer.json()["detail"]
    for junk in (b"\x00" * 100, b"Content-Type: multipart/report\r\n\r\n", dsn(someone.email, "\x00"),
                 b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n",
                 "Content-Type: multipart/report; report-type=feedback-report\r\n\r\né".encode(),
                 b"Content-Type: multipart/report; report-type=" + b"a" * 10000 + b"\r\n\r\n"):
        junk_answer = post_report(relay, junk)
        assert junk_answer.status_code in (202, 400), (junk[:60], junk_answer.status_code)


def test_a_report_about_an_sms_or_another_address_stops_no_subscriber(relay) -> None:
    from tests.messaging.test_email_feedback import dsn

    someone = subscriber("abonne.sms@example.org")
    sms = outbox_row("sms-1", "+33600000000", channel="sms")
    mail = outbox_row("assist-lettre-3-1", "quelquun.dautre@example.org")
    for body in (dsn(someone.email, sms.idempotency_key), dsn(someone.email, mail.idempotency_key)):
        assert post_report(relay, body).status_code == 202
    assert Subscriber.objects.get(pk=someone.pk).status == Subscriber.ACTIVE
    assert not EmailFeedback.objects.exists()


# --- progressive profiling ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "answers"), [
    ("abc", ["oui"]), ("", []), (str(2**63), ["-1"]), ("foyer", ["abc"]), ("foyer", ["seul", "couple"]),
    ("foyer", ["\x00"]), ("enfants_ages", ["0-3"]), ("nouvel_habitant", ["oui" * 1000]),
])
def test_junk_answers_are_a_french_400_and_nothing_is_kept(question: str, answers: list[str]) -> None:
    client = visitor()
    client.get("/site/mieux-vous-connaitre/")
    before = Profile.objects.filter(answers__isnull=False).exclude(answers={}).count()
    answer = client.post("/site/mieux-vous-connaitre/", {"question": question, "reponse": answers})
    assert answer.status_code == 400, (question, answers, answer.status_code)
    assert Profile.objects.filter(answers__isnull=False).exclude(answers={}).count() == before


def test_without_consent_questions_and_pseudonyms_are_409(partner_sites) -> None:
    for accept in (None, False):
        client = visitor(accept=accept)
        before = tables()
        assert client.post("/site/mieux-vous-connaitre/", {"question": "foyer", "reponse": ["seul"]}
                           ).status_code == 409
        answer = client.get("/site/pseudonyme/mediatheque/")
        assert answer.status_code == 409 and "rien n'est transmis" in answer.json()["detail"]
        assert tables() == before


# --- cross-site: a confirmation link opened in someone else's browser ----------------------------------------------
def test_an_attackers_confirmation_link_opened_in_a_victims_browser_does_not_take_the_victims_profile(
        no_mail) -> None:
    """The attacker subscribes their own address and gets their confirmation link in their own mailbox; a page of
    theirs sends the victim's browser to it (a top-level GET: the SameSite=Lax profile cookie goes with it). The
    victim's profile must not become an alias of the attacker's known profile: the attacker would read the
    victim's interests in the order of every letter they receive, and go on reading what the victim browses."""
    from proactif.assist.models import ProfileMerge

    attacker = Client()
    assert attacker.post("/site/lettre/", {"email": "attaquant@evil.example", "listes": ["sport"]}).status_code == 302
    mine = Subscriber.objects.get(email="attaquant@evil.example")
    link = ROUTES["confirmation"].format(newsletter.token("confirmation", mine))
    victim = visitor()
    assert send(victim, [{"type": "page_vue", "page": p} for p in creche_pages()]).status_code == 204
    theirs = profile_of(victim)
    merges = ProfileMerge.objects.count()
    victim.get(link, HTTP_REFERER="https://evil.example/piege", HTTP_SEC_FETCH_SITE="cross-site")
    theirs.refresh_from_db()
    assert theirs.merged_into_id is None and ProfileMerge.objects.count() == merges, \
        "the victim's profile was merged into the attacker's subscription"
    assert newsletter.subscriber_scores(Subscriber.objects.get(pk=mine.pk)).get("famille-enfance", 0) == 0


def test_an_editor_of_another_service_cannot_send_an_edition(agents) -> None:
    edition = Edition.objects.create(title="Lettre", created_at=clock.now(), created_by="x")
    for who in ("ccas", "police", "dpo"):
        answer = logged_in(Client(), who).post(f"/redaction/lettres/{edition.pk}/envoyer/")
        assert answer.status_code == 403
    edition.refresh_from_db()
    assert edition.status == Edition.DRAFT and edition.sent_at is None


def test_the_newsletter_hears_only_well_formed_feedback_whatever_the_case() -> None:
    from proactif.kernel import events

    someone = subscriber("Casse.Mixte@example.org")
    for junk in ({"address": "", "kind": "hard"}, {"address": someone.email, "kind": "inconnu"},
                 {"address": "casse%@example.org", "kind": "hard"}, {"address": "casse_mixte@example.org",
                                                                      "kind": "hard"}):
        events.publish("email_feedback", person_id=0, key="x", stopped=False, **junk)
    assert Subscriber.objects.get(pk=someone.pk).status == Subscriber.ACTIVE
    events.publish("email_feedback", person_id=0, address="CASSE.MIXTE@EXAMPLE.ORG", kind="hard", key="x",
                   stopped=True)
    assert Subscriber.objects.get(pk=someone.pk).status == Subscriber.STOPPED


def test_the_visitors_own_forms_need_their_csrf_token() -> None:
    client = visitor()
    send(client, [{"type": "page_vue", "page": creche_pages()[0]}])
    mine = profile_of(client)
    strict = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Mozilla/5.0")
    strict.cookies[_profiles.COOKIE] = client.cookies[_profiles.COOKIE].value
    for path in ("/site/pourquoi/supprimer/", "/site/pourquoi/reinitialiser/", "/site/lettre/",
                 "/site/mieux-vous-connaitre/supprimer/"):
        assert strict.post(path, {"email": "x@example.org", "listes": ["sport"]}).status_code == 403, path
    mine.refresh_from_db()
    assert mine.interests and Profile.objects.filter(pk=mine.pk).exists()


def test_an_address_already_subscribed_gets_the_same_answer_and_no_mail(no_mail) -> None:
    subscriber("deja.abonne@example.org")
    answer = Client().post("/site/lettre/", {"email": "DEJA.ABONNE@example.org", "listes": ["sport"]})
    assert answer.status_code == 302 and answer["Location"] == "/site/lettre/envoyee/"
    assert no_mail == [] and Subscriber.objects.filter(email__iexact="deja.abonne@example.org").count() == 1


def test_a_residents_junk_step_keys_are_a_french_400() -> None:
    from proactif.assist import _resident
    from tests.conftest import some_person_id

    client = Client()
    url = _resident.resident_link(some_person_id(), days=1)
    assert client.get("/l/" + url.rsplit("/", 1)[1]).status_code == 302
    for key in (str(2**63), "-1", "abc", "\x00", "x" * 500):
        answer = client.post("/site/pour-vous/demarche/", {"cle": key})
        assert answer.status_code == 400 and fr("Cette démarche ne vous est plus proposée") in \
            answer.content.decode()
    assert client.get("/site/pour-vous/").status_code == 200
