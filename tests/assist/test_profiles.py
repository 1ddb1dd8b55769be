"""Interest profiles (issue 20, part A): made only with consent, decayed interests, never-inferred themes, explicit
above inferred, frozen on withdrawal, merged into a subscriber's and un-merged exactly, reset and deleted by the
visitor, and the home ordered by them — except for the control group — with the blocks counted."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from proactif.assist import _interests, _profiles
from proactif.assist.models import BlockStat, Profile, ProfileEvent, ProfileMerge, SearchEntry, Subscriber
from proactif.audit.models import AccessLog
from proactif.kernel import clock
from tests.conftest import fr

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
_addresses = iter(range(1, 250))


def visitor(accept: bool | None = True) -> Client:
    """A browser; it accepts (or refuses) personalisation on the banner when told."""
    client = Client(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=f"198.51.100.{next(_addresses)}")
    if accept is not None:
        client.post("/site/cookies/", {"tout": "accepter" if accept else "refuser"})
    return client


def send(client: Client, events: list[dict[str, Any]] | Any, origin: str = "http://testserver", **extra: Any) -> Any:
    body = events if isinstance(events, (str, bytes)) else json.dumps({"events": events})
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post("/site/evenements/", data=body, content_type="text/plain", **headers, **extra)


def pages_of(theme: str, alone: bool = True, count: int = 3) -> list[int]:
    """Published pages of `theme` (only that theme when `alone`)."""
    rows = SearchEntry.objects.filter(themes__contains=theme).order_by("page_id")
    ids = [r.page_id for r in rows if (r.themes.split() == [theme]) or (not alone and theme in r.themes.split())]
    assert len(ids) >= count, theme
    return ids[:count]


def creche_pages() -> list[int]:
    ids = [r.page_id for r in SearchEntry.objects.filter(themes="famille-enfance").order_by("page_id")
           if "crèche" in (r.title + r.summary + r.body).lower()]
    assert len(ids) >= 3
    return ids[:3]


def profile_of(client: Client) -> Profile:
    key = signing.loads(client.cookies[_profiles.COOKIE].value, salt=_profiles.SALT)
    return Profile.objects.get(key=key)


def tiles(client: Client) -> list[str]:
    return re.findall(r'data-theme="([a-z-]+)"', client.get("/site/").content.decode())


# --- interests -------------------------------------------------------------------------------------------------
def test_an_interest_halves_every_half_life(settings) -> None:
    settings.INTEREST_HALF_LIFE_DAYS = 30
    start = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    client = visitor()
    with clock.use(clock.FixedClock(start)):
        assert send(client, [{"type": "page_vue", "page": p} for p in creche_pages()[:2]]).status_code == 204
        profile = profile_of(client)
        assert _profiles.scores(profile)["famille-enfance"] == pytest.approx(2.0)
    with clock.use(clock.FixedClock(start + timedelta(days=30))):
        assert _profiles.scores(profile)["famille-enfance"] == pytest.approx(1.0)
    with clock.use(clock.FixedClock(start + timedelta(days=60))):
        assert _profiles.scores(profile)["famille-enfance"] == pytest.approx(0.5)
        send(client, [{"type": "telechargement", "page": creche_pages()[0]}])  # 0.5 decayed + 2.0
        assert _profiles.scores(Profile.objects.get(pk=profile.pk))["famille-enfance"] == pytest.approx(2.5)


def test_health_and_disability_are_never_inferred_even_after_many_events() -> None:
    client = visitor()
    health = pages_of("sante", alone=False, count=3)
    disability = pages_of("handicap", alone=False, count=2)
    events = [{"type": "page_vue", "page": p} for p in health + disability] * 5
    events += [{"type": "page_vue", "theme": "sante"}, {"type": "recherche", "q": "prise de sang au laboratoire"}]
    assert send(client, events[:50]).status_code == 204
    profile = profile_of(client)
    assert profile.events == len(events[:50])
    assert not set(profile.interests) & _interests.SENSITIVE
    assert not set(_profiles.scores(profile)) & _interests.SENSITIVE
    rows = ProfileEvent.objects.filter(profile=profile)
    assert rows.count() >= 25
    assert not rows.filter(theme__in=["sante", "handicap"]).exists()
    assert not rows.filter(page_id__in=health + disability).exists()  # the row would say what was read
    profile.chosen = {"sante": True}
    assert _profiles.scores(profile)["sante"] == _interests.CHOSEN_SCORE  # chosen, it counts


def test_explicit_choices_come_above_inferred_interests_and_a_set_aside_theme_never_first(settings) -> None:
    settings.PERSONALISATION_CONTROL_PERCENT = 0
    client = visitor()
    send(client, [{"type": "formulaire", "page": p} for p in creche_pages()] * 5)
    profile = profile_of(client)
    Profile.objects.filter(pk=profile.pk).update(chosen={"sport": True, "culture-loisirs": False})
    profile.refresh_from_db()
    ranked = sorted(_profiles.scores(profile).items(), key=lambda kv: -kv[1])
    assert ranked[0] == ("sport", _interests.CHOSEN_SCORE) and ranked[1][0] == "famille-enfance"
    assert [(t, why) for t, _, why in _profiles.top(profile)] == [("sport", "choisi"),
                                                                  ("famille-enfance", "deduit")]
    order = tiles(client)
    assert order[:2] == ["sport", "famille-enfance"]
    assert order.index("culture-loisirs") > 10  # first by season and agenda for everyone else


# --- consent ---------------------------------------------------------------------------------------------------
def test_no_profile_without_consent_and_none_from_a_refusal() -> None:
    for client in (visitor(accept=None), visitor(accept=False)):
        before = Profile.objects.count()
        assert send(client, [{"type": "page_vue", "page": creche_pages()[0]}]).status_code == 204
        assert _profiles.COOKIE not in client.cookies
        assert Profile.objects.count() == before
        client.get("/site/")
        assert _profiles.COOKIE not in client.cookies and Profile.objects.count() == before


def test_withdrawing_consent_freezes_the_profile_and_accepting_again_thaws_it(settings) -> None:
    settings.PERSONALISATION_CONTROL_PERCENT = 0
    client = visitor()
    send(client, [{"type": "page_vue", "page": p} for p in creche_pages()])
    profile = profile_of(client)
    assert tiles(client)[0] == "famille-enfance"
    client.post("/site/cookies/", {"tout": "refuser"})
    profile.refresh_from_db()
    assert profile.frozen  # at once, from the banner's answer
    frozen = (profile.interests, profile.events, ProfileEvent.objects.filter(profile=profile).count())
    send(client, [{"type": "page_vue", "page": p} for p in pages_of("sport", count=2)])
    profile.refresh_from_db()
    assert (profile.interests, profile.events, ProfileEvent.objects.filter(profile=profile).count()) == frozen
    assert tiles(client)[0] != "famille-enfance"  # the default order again
    client.post("/site/cookies/", {"tout": "accepter"})
    send(client, [{"type": "page_vue", "page": pages_of("sport", count=2)[0]}])
    profile.refresh_from_db()
    assert not profile.frozen and profile.events == frozen[1] + 1


def test_the_cookie_is_signed_http_only_lax_and_lasts_13_months_at_most() -> None:
    client = visitor()
    response = send(client, [{"type": "page_vue", "page": creche_pages()[0]}])
    cookie = response.cookies[_profiles.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) == 395 * 86400
    assert not cookie["secure"]  # plain http in tests; Secure over https (request.is_secure())
    key = profile_of(client).key
    assert key not in cookie.value.split(":")[0] or signing.loads(cookie.value, salt=_profiles.SALT) == key
    client.cookies[_profiles.COOKIE] = cookie.value[:-3] + "abc"  # forged: names nothing, a new one is made
    send(client, [{"type": "page_vue", "page": creche_pages()[0]}])
    assert profile_of(client).key != key and Profile.objects.filter(key=key).exists()
    assert send(visitor(), [{"type": "page_vue", "page": creche_pages()[0]}]).cookies[_profiles.COOKIE]
    # a second request from the same browser does not push the cookie's limit back (CNIL)
    assert _profiles.COOKIE not in send(client, [{"type": "page_vue", "page": creche_pages()[1]}]).cookies


# --- the home, personalised and measured ------------------------------------------------------------------------
@pytest.mark.parametrize(("control", "first"), [(0, True), (100, False)])
def test_three_creche_pages_put_family_first_for_a_personalised_profile_not_for_the_control_group(
        settings, control: int, first: bool) -> None:
    settings.PERSONALISATION_CONTROL_PERCENT = control
    client = visitor()
    default = tiles(client)
    assert default[0] != "famille-enfance"
    for page in creche_pages():
        assert client.get(SearchEntry.objects.get(page_id=page).url).status_code == 200
        assert send(client, [{"type": "page_vue", "page": page}]).status_code == 204
    profile = profile_of(client)
    assert profile.events == 3 and _profiles.group(profile) == ("personnalise" if first else "controle")
    order = tiles(client)
    assert (order[0] == "famille-enfance") is first
    if not first:
        assert order == default
    home = client.get("/site/").content.decode()
    assert ('id="ordre-personnalise"' in home) is first  # with its « Pourquoi je vois ceci »
    cards = re.findall(r'data-bloc="(\d+)" data-surface="home"', home)
    assert cards and all(c.isdigit() for c in cards)


def test_blocks_shown_and_clicked_are_counted_per_day_surface_group_and_block(settings) -> None:
    settings.PERSONALISATION_CONTROL_PERCENT = 0
    today = clock.today()
    client = visitor()
    send(client, [{"type": "page_vue", "page": creche_pages()[0]}])
    client.get("/site/")
    client.get("/site/")
    client.get("/site/themes/sport/")
    row = BlockStat.objects.get(day=today, surface="home", group="personnalise", block="famille-enfance")
    assert (row.shown, row.clicks) == (2, 0)
    assert BlockStat.objects.filter(day=today, surface="home", group="personnalise", shown=2).count() >= 18 + 6
    sport = BlockStat.objects.filter(day=today, surface="theme:sport", group="personnalise")
    assert sport.exists() and all(r.shown == 1 for r in sport)
    card = sport.first()
    send(client, [{"type": "clic", "bloc": "famille-enfance", "surface": "home"},
                  {"type": "clic", "bloc": card.block, "surface": "theme:sport"},
                  {"type": "clic", "bloc": "famille-enfance", "surface": "home"}])
    row.refresh_from_db()
    card.refresh_from_db()
    assert (row.shown, row.clicks) == (2, 2) and (card.shown, card.clicks) == (1, 1)
    anonymous = visitor(accept=None)
    anonymous.get("/site/")
    send(anonymous, [{"type": "clic", "bloc": "famille-enfance", "surface": "home"}])
    other = BlockStat.objects.get(day=today, surface="home", group="anonyme", block="famille-enfance")
    assert (other.shown, other.clicks) == (1, 1)
    assert Client().head("/site/").status_code == 200
    other.refresh_from_db()
    assert other.shown == 1  # a HEAD displays nothing


# --- « Pourquoi je vois ceci », reset, delete ------------------------------------------------------------------
def test_why_page_says_what_leads_and_why_and_the_control_group_plainly(settings) -> None:
    settings.PERSONALISATION_CONTROL_PERCENT = 0
    client = visitor()
    send(client, [{"type": "page_vue", "page": p} for p in creche_pages()])
    client.post("/site/mes-centres-d-interet/", {"themes": ["sport"]})
    page = client.get("/site/pourquoi/").content.decode()
    assert re.search(r"Sport</strong> — choisi par vous", page)
    assert re.search(r"Famille et petite enfance</strong> — déduit de vos visites", page)
    assert "Réinitialiser mon profil" in page and "Supprimer mon profil" in page
    assert 'href="/site/mes-centres-d-interet/"' in page and "groupe témoin" not in page
    settings.PERSONALISATION_CONTROL_PERCENT = 100
    assert "Vous faites partie du groupe témoin" in client.get("/site/pourquoi/").content.decode()
    nobody = visitor(accept=None).get("/site/pourquoi/").content.decode()
    assert fr("aucun profil n'est tenu pour vous") in nobody and "Supprimer mon profil" not in nobody


def test_reset_forgets_what_was_learnt_and_delete_removes_the_profile_and_its_cookie() -> None:
    client = visitor()
    send(client, [{"type": "page_vue", "page": p} for p in creche_pages()])
    profile = profile_of(client)
    Profile.objects.filter(pk=profile.pk).update(chosen={"sport": True}, answers={"foyer": {"value": "3"}})
    assert client.post("/site/pourquoi/reinitialiser/")["Location"] == "/site/pourquoi/?fait=reinitialise"
    profile.refresh_from_db()
    assert (profile.interests, profile.answers, profile.events, profile.chosen) == ({}, {}, 0, {"sport": True})
    assert not ProfileEvent.objects.filter(profile=profile).exists()
    send(client, [{"type": "page_vue", "page": creche_pages()[0]}])
    alias = Profile.objects.create(key="a" * 32, consent_id="", created_at=clock.now(), seen_at=clock.now(),
                                   merged_into=profile)
    response = client.post("/site/pourquoi/supprimer/")
    assert response.status_code == 302 and response.cookies[_profiles.COOKIE]["max-age"] == 0
    assert not Profile.objects.filter(pk__in=[profile.pk, alias.pk]).exists()
    assert not ProfileEvent.objects.filter(profile_id=profile.pk).exists()
    assert "Votre profil est supprimé" in client.get("/site/pourquoi/?fait=supprime").content.decode()


def test_a_visitor_who_withdrew_consent_can_still_delete_their_profile() -> None:
    client = visitor()
    send(client, [{"type": "page_vue", "page": creche_pages()[0]}])
    profile = profile_of(client)
    client.post("/site/cookies/", {"tout": "refuser"})
    assert fr("votre profil est suspendu") in client.get("/site/pourquoi/").content.decode()
    client.post("/site/pourquoi/supprimer/")
    assert not Profile.objects.filter(pk=profile.pk).exists()


# --- merge -----------------------------------------------------------------------------------------------------
def _subscriber(email: str = "parent@example.fr") -> Subscriber:
    return Subscriber.objects.create(email=email, status=Subscriber.ACTIVE, consent_version="2026-12",
                                     created_at=clock.now())


def _state(profile: Profile) -> tuple[Any, ...]:
    profile.refresh_from_db()
    return (profile.interests, profile.chosen, profile.answers, profile.events, profile.merged_into_id,
            profile.frozen, profile.subscriber_id)


def test_merge_sums_interests_keeps_an_alias_and_undo_restores_both_exactly() -> None:
    client = visitor()
    send(client, [{"type": "page_vue", "page": p} for p in creche_pages()])
    source = profile_of(client)
    Profile.objects.filter(pk=source.pk).update(chosen={"sport": True, "logement": False},
                                                answers={"foyer": {"value": "4", "consent": "v1", "at": "x"}})
    subscriber = _subscriber()
    target = _profiles.for_subscriber(subscriber)
    assert _profiles.for_subscriber(subscriber).pk == target.pk  # one known profile
    _profiles.record(target, [{"type": "page_vue", "theme": "famille-enfance"},
                              {"type": "page_vue", "theme": "culture-loisirs"}])
    Profile.objects.filter(pk=target.pk).update(chosen={"sport": False}, answers={"enfants": {"value": "2"}})
    before_source, before_target = _state(source), _state(target)
    merge = _profiles.merge(source, target, "inscription à la lettre")
    after = _profiles.scores(target)
    assert after["famille-enfance"] == pytest.approx(4.0, rel=1e-3)  # 3 + 1, both decayed to now
    assert after["culture-loisirs"] == pytest.approx(1.0, rel=1e-3)
    assert target.chosen == {"sport": False, "logement": False}  # the target's own choice holds
    assert set(target.answers) == {"foyer", "enfants"} and target.events == 3 + 2
    assert source.merged_into_id == target.pk
    assert _profiles.current(client.get("/site/").wsgi_request).pk == target.pk  # the alias reads as the target
    assert AccessLog.objects.filter(action="merge", detail__fusion_de_profils=merge.pk).count() == 1
    with pytest.raises(ValueError, match="déjà fusionné"):
        _profiles.merge(source, target, "encore")
    restored = _profiles.undo_merge(merge.pk)
    assert restored.pk == target.pk
    assert _state(source) == before_source and _state(target) == before_target
    assert ProfileMerge.objects.get(pk=merge.pk).undone_at is not None
    assert AccessLog.objects.filter(action="unmerge", detail__fusion_de_profils=merge.pk).count() == 1
    with pytest.raises(ValueError, match="déjà annulée"):
        _profiles.undo_merge(merge.pk)
    with pytest.raises(ValueError, match="lui-même"):
        _profiles.merge(target, target, "x")


def test_undo_refuses_an_older_merge_while_a_later_one_stands() -> None:
    target = _profiles.for_subscriber(_subscriber())
    first, second = (Profile.objects.create(key=k * 32, consent_id="", created_at=clock.now(), seen_at=clock.now())
                     for k in "bc")
    older = _profiles.merge(first, target, "a")
    newer = _profiles.merge(second, target, "b")
    with pytest.raises(ValueError, match="plus récente"):
        _profiles.undo_merge(older.pk)
    _profiles.undo_merge(newer.pk)
    _profiles.undo_merge(older.pk)
    assert _state(target)[:4] == ({}, {}, {}, 0)
    with pytest.raises(LookupError):
        _profiles.undo_merge(10**12)


def test_the_personalised_home_reads_the_profile_with_one_indexed_lookup(settings) -> None:
    settings.PERSONALISATION_CONTROL_PERCENT = 0
    client = visitor()
    send(client, [{"type": "page_vue", "page": p} for p in creche_pages()])
    anonymous = visitor(accept=None)
    anonymous.get("/site/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as plain:
        anonymous.get("/site/")
    with CaptureQueriesContext(connection) as personal:
        client.get("/site/")
    extra = [q["sql"] for q in personal.captured_queries if "assist_profile" in q["sql"]]
    assert len(extra) == 1 and '"key"' in extra[0]  # the profile by its unique key; no event is read
    assert not any("assist_profileevent" in q["sql"] for q in personal.captured_queries)
    # the consent proof (2 queries) and the profile: nothing that grows with the profiles or their events
    assert len(personal.captured_queries) <= len(plain.captured_queries) + 4
