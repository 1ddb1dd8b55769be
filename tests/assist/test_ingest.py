"""The events endpoint (issue 20, part A): consent enforced, batches bounded, each event checked, same origin,
bots filtered, a rate per address, a page's theme from the server and a search's from the classifier — and the
speed of batched ingestion through HTTP."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from proactif.assist import _ingest, _profiles
from proactif.assist.models import AudienceCount, BlockStat, Profile, ProfileEvent, SearchEntry
from proactif.kernel import clock, ratelimit
from proactif.kernel.models import RequestWindow
from tests.assist.test_profiles import BROWSER, creche_pages, pages_of, profile_of, send, visitor

pytestmark = pytest.mark.django_db
URL = "/site/evenements/"


def rows() -> tuple[int, int]:
    return Profile.objects.count(), ProfileEvent.objects.count()


def clicks() -> int:
    return sum(AudienceCount.objects.filter(kind="clic").values_list("count", flat=True))


def test_without_consent_only_the_anonymous_aggregate_rises() -> None:
    client = visitor(accept=None)
    before, aggregate = rows(), clicks()
    page = creche_pages()[0]
    response = send(client, [{"type": "page_vue", "page": page},
                             {"type": "clic", "bloc": "famille-enfance", "surface": "home"},
                             {"type": "clic", "bloc": str(page), "surface": "home"},
                             {"type": "telechargement", "page": page}])
    assert response.status_code == 204 and _profiles.COOKIE not in response.cookies
    assert rows() == before
    assert clicks() == aggregate + 2
    assert AudienceCount.objects.get(day=clock.today(), kind="telechargement",
                                     path=SearchEntry.objects.get(page_id=page).url).count == 1
    refused = visitor(accept=False)
    assert send(refused, [{"type": "clic", "bloc": "sport", "surface": "home"}]).status_code == 204
    assert rows() == before and clicks() == aggregate + 3


def test_with_consent_the_events_and_interests_are_kept_together() -> None:
    client = visitor()
    before = rows()
    page = creche_pages()[0]
    response = send(client, [{"type": "page_vue", "page": page}, {"type": "formulaire", "page": page}])
    assert response.status_code == 204 and response.content == b""
    profile = profile_of(client)
    assert rows() == (before[0] + 1, before[1] + 2)
    assert list(ProfileEvent.objects.filter(profile=profile).values_list("kind", "theme", "page_id")) == [
        ("page_vue", "famille-enfance", page), ("formulaire", "famille-enfance", page)]
    assert profile.interests["famille-enfance"][0] == pytest.approx(4.0)  # 1 + 3


def test_a_page_views_theme_comes_from_the_page_never_from_the_browser() -> None:
    client = visitor()
    sport = pages_of("sport", count=2)[0]
    send(client, [{"type": "page_vue", "page": sport, "theme": "famille-enfance"}])
    profile = profile_of(client)
    assert set(profile.interests) == {"sport"}
    assert list(ProfileEvent.objects.filter(profile=profile).values_list("theme", flat=True)) == ["sport"]


def test_a_search_keeps_its_theme_from_the_classifier_never_its_words() -> None:
    client = visitor()
    assert send(client, [{"type": "recherche", "q": "inscription à la crèche Lucie Martin"}]).status_code == 204
    profile = profile_of(client)
    assert list(ProfileEvent.objects.filter(profile=profile).values_list("kind", "theme")) == [
        ("recherche", "famille-enfance")]
    stored = json.dumps(list(Profile.objects.filter(pk=profile.pk).values()), default=str)
    stored += json.dumps(list(ProfileEvent.objects.values()), default=str)
    stored += json.dumps(list(AudienceCount.objects.values()), default=str)
    assert "crèche" not in stored and "Lucie" not in stored and "Martin" not in stored


def test_a_batch_of_51_is_refused_and_50_accepted() -> None:
    client = visitor()
    page = creche_pages()[0]
    before = rows()
    response = send(client, [{"type": "page_vue", "page": page}] * 51)
    assert response.status_code == 413
    assert response.json()["erreur"] == "Trop d'événements : 50 au plus par envoi (51 reçus)."
    assert rows() == before
    assert send(client, [{"type": "page_vue", "page": page}] * 50).status_code == 204
    assert profile_of(client).events == 50


def test_a_body_over_16_kib_is_refused() -> None:
    client = visitor()
    body = json.dumps({"events": [{"type": "recherche", "q": "x" * 17000}]})
    response = send(client, body)
    assert response.status_code == 413 and "16 Kio" in response.json()["erreur"]


@pytest.mark.parametrize(("event", "field"), [
    ({"type": "vue"}, "type"),
    ({"type": "page_vue", "page": 0}, "page"),
    ({"type": "page_vue", "page": -4}, "page"),
    ({"type": "page_vue", "page": 2**63}, "page"),
    ({"type": "page_vue", "page": "12"}, "page"),
    ({"type": "page_vue", "page": True}, "page"),
    ({"type": "page_vue", "page": 999_999_999}, "page"),
    ({"type": "page_vue", "theme": "jardinage"}, "theme"),
    ({"type": "clic", "bloc": "sport", "surface": "theme:inconnu"}, "surface"),
    ({"type": "clic", "bloc": "sport"}, "surface"),
    ({"type": "clic", "bloc": "<script>", "surface": "home"}, "bloc"),
    ({"type": "recherche", "q": ""}, "q"),
    ({"type": "page_vue", "q": "crèche"}, "q"),
    ({"type": "page_vue", "adresse_ip": "1.2.3.4"}, "adresse_ip"),
    ("page_vue", "evenement"),
])
def test_a_bad_event_is_refused_naming_its_index_and_field_and_nothing_is_kept(event, field) -> None:
    client = visitor()
    send(client, [{"type": "page_vue", "page": creche_pages()[0]}])
    before, aggregate = rows(), clicks()
    response = send(client, [{"type": "clic", "bloc": "sport", "surface": "home"}, event])
    assert response.status_code == 400
    body = response.json()
    assert body["erreurs"][0]["index"] == 1 and body["erreurs"][0]["champ"] == field
    assert body["erreur"].startswith(f"Événement 1, champ « {field} »") and "Rien n'a été enregistré" in body["erreur"]
    assert rows() == before and clicks() == aggregate


@pytest.mark.parametrize("body", ["", "pas du json", "[]", '{"events": 3}', '{"evenements": []}'])
def test_a_body_that_is_not_a_batch_is_a_400_in_french(body: str) -> None:
    response = send(visitor(), body)
    assert response.status_code == 400 and response.json()["erreur"].startswith("Le corps")


@pytest.mark.parametrize("headers", [
    {"HTTP_ORIGIN": "https://site-malveillant.example"},
    {"HTTP_ORIGIN": "null"},
    {"HTTP_ORIGIN": "http://testserver.example"},
    {"HTTP_REFERER": "https://site-malveillant.example/page"},
    {},
])
def test_a_foreign_or_missing_origin_is_refused(headers) -> None:
    client = visitor()
    before = rows()
    response = client.post(URL, data=json.dumps({"events": [{"type": "page_vue", "page": creche_pages()[0]}]}),
                           content_type="text/plain", **headers)
    assert response.status_code == 403 and "pages du site" in response.json()["erreur"]
    assert rows() == before


def test_our_own_referer_is_enough_when_the_origin_is_missing() -> None:
    client = visitor()
    response = client.post(URL, data=json.dumps({"events": [{"type": "page_vue", "page": creche_pages()[0]}]}),
                           content_type="text/plain", HTTP_REFERER="http://testserver/site/")
    assert response.status_code == 204 and profile_of(client).events == 1


@pytest.mark.parametrize("agent", ["", "Googlebot/2.1 (+http://www.google.com/bot.html)",
                                   "Mozilla/5.0 (compatible; bingbot/2.0)", "python-requests/2.32", "curl/8.5.0",
                                   "Mozilla/5.0 (compatible; AhrefsBot/7.0)"])
def test_bots_are_answered_and_nothing_is_kept(agent: str) -> None:
    client = visitor()
    client.defaults["HTTP_USER_AGENT"] = agent
    before, aggregate = rows(), clicks()
    response = send(client, [{"type": "clic", "bloc": "sport", "surface": "home"}])
    assert response.status_code == 204 and rows() == before and clicks() == aggregate


def test_the_rate_per_address_answers_429_with_retry_after(settings, fixed_clock) -> None:
    settings.EVENTS_PER_MINUTE = 60
    client = visitor()
    page = creche_pages()[0]
    assert send(client, [{"type": "page_vue", "page": page}] * 50).status_code == 204
    refused = send(client, [{"type": "page_vue", "page": page}] * 20)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert "réessayez dans" in refused.json()["erreur"]
    assert profile_of(client).events == 50
    assert send(client, [{"type": "page_vue", "page": page}] * 10).status_code == 204  # within the share left
    other = visitor()  # another address has its own share
    assert send(other, [{"type": "page_vue", "page": page}] * 50).status_code == 204
    cache.clear()  # the budget is not in one process's memory: every web worker reads the same window
    assert send(client, [{"type": "page_vue", "page": page}] * 1).status_code == 429
    # the address is stored nowhere: the window holds a keyed hash
    assert RequestWindow.objects.filter(scope="assist:evenements").count() == 2
    assert not RequestWindow.objects.filter(subject__contains="198.51.100.").exists()


def test_a_window_filled_between_the_read_and_the_count_refuses_and_records_nothing(settings, fixed_clock,
                                                                                   monkeypatch) -> None:
    """Two workers read the same share left; the count in the batch's transaction refuses the second."""
    settings.EVENTS_PER_MINUTE = 60
    client = visitor()
    page = creche_pages()[0]
    assert send(client, [{"type": "page_vue", "page": page}] * 50).status_code == 204
    monkeypatch.setattr(ratelimit, "check", lambda *args, **kwargs: None)  # the read happened before the 50
    before, aggregate = rows(), clicks()
    refused = send(client, [{"type": "clic", "bloc": "sport", "surface": "home"}] * 20)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert rows() == before and clicks() == aggregate and profile_of(client).events == 50
    assert RequestWindow.objects.get(scope="assist:evenements").count == 50  # the refused 20 taken back


def test_a_click_without_consent_counts_for_the_anonymous_group_with_consent_for_the_profiles() -> None:
    send(visitor(accept=None), [{"type": "clic", "bloc": "logement", "surface": "home"}])
    send(visitor(), [{"type": "clic", "bloc": "logement", "surface": "home"}])
    groups = dict(BlockStat.objects.filter(day=clock.today(), surface="home", block="logement").values_list(
        "group", "clicks"))
    assert groups.get("anonyme") == 1 and sum(v for k, v in groups.items() if k != "anonyme") == 1


def test_batched_ingestion_through_http_keeps_every_event() -> None:
    """Batches of 50 from four visitors all land in their profiles (the speed is `proactif bench assist`'s)."""
    pages = creche_pages() + pages_of("sport", count=2)
    batch = [{"type": "page_vue", "page": pages[i % len(pages)]} for i in range(40)] + [
        {"type": "clic", "bloc": "sport", "surface": "home"}] * 10
    clients = [visitor() for _ in range(4)]
    for client in clients:
        send(client, batch[:1])
    sent = 0
    for _ in range(10):
        for client in clients:
            assert send(client, batch).status_code == 204
            sent += len(batch)
    assert sum(Profile.objects.filter(pk__in=[profile_of(c).pk for c in clients]).values_list(
        "events", flat=True)) == sent + 4


def test_validation_is_pure_about_what_it_returns() -> None:
    page = creche_pages()[0]
    _events, errors, pages = _ingest.validate([{"type": "page_vue", "page": page},
                                               {"type": "clic", "bloc": str(page), "surface": "home"}])
    assert errors == [] and pages == {page: ["famille-enfance"]}
    assert _ingest.is_bot(Client(HTTP_USER_AGENT=BROWSER).get("/site/").wsgi_request) is False
