"""Newsletters, the subscriber's side: double opt-in (nothing sent before the link in the confirmation e-mail is
opened), the same answer whether the address is subscribed or not, the preferences page and the one-click
unsubscribe of RFC 8058 reached by signed links, forged and expired links refused, bounces and complaints stopping
an address, the registry link on an explicit opt-in kept in the consent ledger and undone, the GDPR export and
erasure of a linked subscriber."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from proactif.assist import _gdpr
from proactif.assist import _newsletter as newsletter
from proactif.assist.models import Profile, Subscriber, Theme
from proactif.kernel import clock, events
from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage, SinkMessage
from proactif.registry.models import Consent
from tests.conftest import fr, some_person_id

pytestmark = pytest.mark.django_db

TUESDAY_MORNING = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 10:30 in Paris: inside the sending hours
EMAIL = "parent.belleroche@example.org"


@pytest.fixture
def now():
    moving = clock.FixedClock(TUESDAY_MORNING)
    with clock.use(moving):
        yield moving


def deliver(prefix: str) -> list[OutboxMessage]:
    """Send what the outbox holds under keys starting with `prefix` (the lanes' workers, in this thread)."""
    ids = list(OutboxMessage.objects.filter(idempotency_key__startswith=prefix, status="created")
               .values_list("id", flat=True))
    if ids:
        outbox.send_batch(ids)
    return list(OutboxMessage.objects.filter(idempotency_key__startswith=prefix).order_by("id"))


def subscribe(client: Client, email: str = EMAIL, lists: tuple[str, ...] = ("famille-enfance", "sport")) -> object:
    return client.post("/site/lettre/", {"email": email, "listes": list(lists)})


def confirmation_link(sinks: object, email: str = EMAIL) -> str:
    deliver("assist-lettre-confirmation-")
    sinks.pump()  # type: ignore[attr-defined]
    mail = SinkMessage.objects.filter(recipient=email, idempotency_key__startswith="assist-lettre-confirmation-"
                                      ).order_by("-id").first()
    assert mail is not None, "no confirmation e-mail in the sink"
    found = re.search(r"https?://\S+/site/lettre/confirmation/(\S+?)/", mail.body)
    assert found, mail.body
    return f"/site/lettre/confirmation/{found.group(1)}/"


def test_the_form_shows_the_purpose_and_its_version_and_refuses_bad_input_in_french(now) -> None:
    client = Client()
    page = client.get("/site/lettre/")
    assert page.status_code == 200
    text = page.content.decode()
    assert fr(f"Version du texte : {newsletter.CONSENT_VERSION}") in text
    assert fr("Base légale : votre consentement") in text
    assert 'for="lettre-email"' in text and 'for="liste-famille-enfance"' in text
    bad = client.post("/site/lettre/", {"email": "pas-une-adresse", "listes": ["sport"]})
    assert bad.status_code == 400 and fr("Cette adresse e-mail n&#x27;est pas valide") in bad.content.decode()
    none = client.post("/site/lettre/", {"email": EMAIL})
    assert none.status_code == 400 and "Choisissez au moins une liste." in none.content.decode()
    assert not Subscriber.objects.filter(email=EMAIL).exists()  # nothing half-written


def test_double_opt_in_nothing_sent_before_the_link_in_the_sink_is_opened(sinks, now) -> None:
    client = Client()
    answer = subscribe(client)
    assert (answer.status_code, answer["Location"]) == (302, "/site/lettre/envoyee/")
    subscriber = Subscriber.objects.get(email=EMAIL)
    assert subscriber.status == Subscriber.PENDING and subscriber.consent_version == newsletter.CONSENT_VERSION
    assert sorted(t.slug for t in subscriber.lists.all()) == ["famille-enfance", "sport"]
    [confirmation] = OutboxMessage.objects.filter(context__abonne=subscriber.pk)
    assert (confirmation.person_id, confirmation.recipient, confirmation.policy, confirmation.purpose,
            confirmation.lane) == (None, EMAIL, ["email"], "information", "transactional")
    # an edition sent now does not reach an address not confirmed yet
    assert subscriber not in newsletter.recipients_of_lists(["famille-enfance", "sport"])
    link = confirmation_link(sinks)
    assert SinkMessage.objects.filter(recipient=EMAIL).count() == 1  # the confirmation only
    opened = client.get(link)
    assert opened.status_code == 200 and "Abonnement confirmé" in opened.content.decode()
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.confirmed_at) == (Subscriber.ACTIVE, TUESDAY_MORNING)
    assert subscriber in newsletter.recipients_of_lists(["sport"])


def test_an_address_already_subscribed_gets_the_same_answer_and_nothing(sinks, now) -> None:
    client = Client()
    first = subscribe(client, "deja@example.org")
    client.get(confirmation_link(sinks, "deja@example.org"))
    before = OutboxMessage.objects.count()
    again = subscribe(Client(), "Deja@Example.org", ("sport",))
    assert (again.status_code, again["Location"]) == (first.status_code, first["Location"])
    assert OutboxMessage.objects.count() == before  # no e-mail: no one learns the address is subscribed
    assert [t.slug for t in Subscriber.objects.get(email="deja@example.org").lists.all()] == ["famille-enfance",
                                                                                              "sport"]


def test_forged_tampered_and_expired_links_are_refused(sinks, now) -> None:
    client = Client()
    subscribe(client)
    link = confirmation_link(sinks)
    token = link.split("/")[-2]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/site/lettre/confirmation/{tampered}/").status_code == 400
    forged = signing.dumps({"s": Subscriber.objects.get(email=EMAIL).pk, "e": EMAIL}, salt="autre")
    assert client.get(f"/site/lettre/preferences/{forged}/").status_code == 400
    assert client.post(f"/site/lettre/desinscription/{forged}/", {"List-Unsubscribe": "One-Click"}
                       ).status_code == 400
    now.set(TUESDAY_MORNING + timedelta(days=newsletter.CONFIRM_DAYS, minutes=1))
    expired = client.get(link)
    assert expired.status_code == 400 and "Lien invalide ou expiré" in expired.content.decode()
    assert Subscriber.objects.get(email=EMAIL).status == Subscriber.PENDING


def active(email: str = EMAIL, lists: tuple[str, ...] = ("famille-enfance", "sport")) -> Subscriber:
    subscriber = Subscriber.objects.create(email=email, status=Subscriber.ACTIVE, consent_version="test",
                                           created_at=clock.now(), confirmed_at=clock.now())
    subscriber.lists.set(Theme.objects.filter(slug__in=lists))
    return subscriber


def test_one_click_unsubscribe_posts_without_csrf_and_is_idempotent(now) -> None:
    subscriber = active()
    url = f"/site/lettre/desinscription/{newsletter.token('desinscription', subscriber)}/"
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200 and "Me désabonner" in page.content.decode()
    for _ in range(2):
        answer = client.post(url, "List-Unsubscribe=One-Click",
                             content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 204
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.left_at) == (Subscriber.UNSUBSCRIBED, TUESDAY_MORNING)


def test_the_preferences_page_changes_lists_unsubscribes_and_deletes(now) -> None:
    subscriber = active()
    url = f"/site/lettre/preferences/{newsletter.token('preferences', subscriber)}/"
    client = Client()
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "listes", "listes": ["culture-loisirs"]}).status_code == 200
    assert [t.slug for t in subscriber.lists.all()] == ["culture-loisirs"]
    refused = client.post(url, {"action": "listes"})
    assert refused.status_code == 400 and "Choisissez au moins une liste." in refused.content.decode()
    assert client.post(url, {"action": "desabonner"}).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.UNSUBSCRIBED
    assert client.post(url, {"action": "supprimer"}).status_code == 200
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert client.get(url).status_code == 400  # the link names a subscription that is gone


@pytest.mark.parametrize(("feedback", "times", "stopped_after"), [("hard", 1, 1), ("soft", 3, 3),
                                                                  ("complaint", 1, 1)])
def test_bounces_and_complaints_stop_the_address_at_their_thresholds(now, feedback, times, stopped_after) -> None:
    subscriber = active()
    field = {"hard": "hard_bounces", "soft": "soft_bounces", "complaint": "complaints"}[feedback]
    for n in range(1, times + 1):
        newsletter.on_email_feedback("email_feedback", 0, address=EMAIL.upper(), kind=feedback,
                                     key=f"assist-lettre-1-{subscriber.pk}", stopped=False)
        subscriber.refresh_from_db()
        assert getattr(subscriber, field) == n
        assert (subscriber.status == Subscriber.STOPPED) == (n >= stopped_after)
    assert subscriber.stop_reason and subscriber.left_at == TUESDAY_MORNING
    assert subscriber not in newsletter.recipients_of_lists(["sport"])


def test_a_soft_bounce_messaging_says_stopped_the_address_stops_it(now) -> None:
    subscriber = active()
    newsletter.on_email_feedback("email_feedback", 0, address=EMAIL, kind="soft", key="k", stopped=True)
    subscriber.refresh_from_db()
    assert (subscriber.soft_bounces, subscriber.status, subscriber.stop_reason) == (
        1, Subscriber.STOPPED, "adresse arrêtée par la messagerie")
    newsletter.on_email_feedback("autre_evenement", 0, address=EMAIL, kind="hard")
    subscriber.refresh_from_db()
    assert subscriber.hard_bounces == 0  # another event is not a bounce


def test_the_listener_is_declared_and_hears_the_published_event(now) -> None:
    subscriber = active()
    events.publish("email_feedback", person_id=0, address=EMAIL, kind="complaint", key="k", stopped=True)
    subscriber.refresh_from_db()
    assert (subscriber.complaints, subscriber.status) == (1, Subscriber.STOPPED)


def resident_session(client: Client, person_id: int) -> None:
    """The resident opens the signed link the town hall sent them (part E): their session lasts 30 minutes."""
    from proactif.assist import _resident

    url = _resident.resident_link(person_id)
    answer = client.get(urlsplit(url).path, follow=True)
    assert answer.status_code == 200
    assert _resident.session_person(answer.wsgi_request) == person_id


def test_the_registry_link_is_an_opt_in_kept_in_the_consent_ledger_and_undone(now) -> None:
    subscriber = active()
    person_id = some_person_id()
    url = f"/site/lettre/preferences/{newsletter.token('preferences', subscriber)}/"
    client = Client()
    assert "Relier mon abonnement à mon dossier" not in client.get(url).content.decode()  # no resident session
    assert client.post(url, {"action": "relier"}).status_code == 400  # nobody to link: refused, nothing written
    assert Subscriber.objects.get(pk=subscriber.pk).person_id is None
    resident_session(client, person_id)
    page = client.get(url).content.decode()
    assert "Relier mon abonnement à mon dossier" in page and newsletter.LINK_TEXT[:40] in page
    assert client.post(url, {"action": "relier"}).status_code == 200
    subscriber.refresh_from_db()
    assert (subscriber.person_id, subscriber.linked_at) == (person_id, TUESDAY_MORNING)
    granted = Consent.objects.filter(person_id=person_id, source="lettre").order_by("id")
    assert [(c.purpose, c.channel, c.decision, c.text_version) for c in granted] == [
        ("information", "email", "granted", newsletter.LINK_VERSION)]
    assert granted[0].proof["abonne"] == subscriber.pk
    assert client.post(url, {"action": "delier"}).status_code == 200
    subscriber.refresh_from_db()
    assert (subscriber.person_id, subscriber.linked_at) == (None, None)
    assert [c.decision for c in Consent.objects.filter(person_id=person_id, source="lettre").order_by("id")] == [
        "granted", "revoked"]


def test_gdpr_export_and_erasure_of_a_linked_subscriber_and_its_letters(sinks, now) -> None:
    subscriber = active()
    person_id = some_person_id()
    newsletter.link_person(subscriber, person_id)
    profile = Profile.objects.create(key="k" * 32, consent_id="c" * 32, created_at=now.now(), seen_at=now.now(),
                                     subscriber=subscriber, chosen={"sport": True})
    alias = Profile.objects.create(key="a" * 32, consent_id="c" * 32, created_at=now.now(), seen_at=now.now(),
                                   merged_into=profile)
    newsletter._send([newsletter._spec("assist-lettre-test-gdpr", subscriber, newsletter.CONFIRMATION_TEMPLATE,
                                       "transactional", {"texte": "Bonjour"})])
    deliver("assist-lettre-test-gdpr")
    exported = _gdpr.export(person_id)
    [letter_sub] = exported["lettres_d_information"]
    assert (letter_sub["adresse"], letter_sub["statut"], letter_sub["listes"]) == (
        EMAIL, "actif", ["famille-enfance", "sport"])
    assert [p["numero"] for p in exported["profils_de_personnalisation"]] == [profile.pk, alias.pk]
    plan = _gdpr.plan_erasure(person_id)
    assert [item.count for item in plan] == [1, 2, 0]
    erased = _gdpr.erase(person_id)
    assert (erased["abonnements"], erased["evenements"], erased["lettres"]) == (1, 0, 1)
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert not Profile.objects.filter(pk__in=[profile.pk, alias.pk]).exists()
    letter = OutboxMessage.objects.get(idempotency_key="assist-lettre-test-gdpr")
    assert (letter.recipient, letter.body, letter.context) == ("", "", {"abonne": subscriber.pk})
    assert _gdpr.export(person_id) == {}


def test_gdpr_erasure_counts_the_aliases_it_erases(now) -> None:
    subscriber = active()
    person_id = some_person_id()
    newsletter.link_person(subscriber, person_id)
    profile = Profile.objects.create(key="k" * 32, consent_id="c" * 32, created_at=now.now(), seen_at=now.now(),
                                     subscriber=subscriber)
    Profile.objects.create(key="a" * 32, consent_id="c" * 32, created_at=now.now(), seen_at=now.now(),
                           merged_into=profile)
    assert _gdpr.erase(person_id)["profils"] == 2


def test_confirming_merges_this_browsers_anonymous_profile_server_side_and_only_in_that_request(sinks, now) -> None:
    import json

    from proactif.assist import _profiles
    from proactif.assist.models import ProfileMerge, SearchEntry

    browser = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36",
                     REMOTE_ADDR="198.51.100.77")
    browser.post("/site/cookies/", {"tout": "accepter"})
    pages = list(SearchEntry.objects.filter(themes="famille-enfance").order_by("page_id")
                 .values_list("page_id", flat=True)[:3])
    sent = browser.post("/site/evenements/", data=json.dumps({"events": [{"type": "page_vue", "page": p}
                                                                         for p in pages]}),
                        content_type="text/plain", HTTP_ORIGIN="http://testserver")
    assert sent.status_code in (200, 202, 204), sent.content[:300]
    anonymous = Profile.objects.get(key=signing.loads(browser.cookies[_profiles.COOKIE].value, salt=_profiles.SALT))
    assert anonymous.subscriber_id is None and anonymous.interests
    subscribe(browser)
    assert not ProfileMerge.objects.filter(source=anonymous).exists()  # subscribing merges nothing
    link = confirmation_link(sinks)
    stranger = Client()  # the same link opened elsewhere confirms, and merges no profile
    assert stranger.get(link).status_code == 200
    assert not ProfileMerge.objects.filter(source=anonymous).exists()
    # a consenting visitor sent to someone else's confirmation link (another site's redirect) gives them nothing:
    # the link carries a mark of the browser that asked for it
    victim = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", REMOTE_ADDR="198.51.100.78")
    victim.post("/site/cookies/", {"tout": "accepter"})
    victim.post("/site/evenements/", data=json.dumps({"events": [{"type": "page_vue", "page": pages[0]}]}),
                content_type="text/plain", HTTP_ORIGIN="http://testserver")
    theirs = Profile.objects.get(key=signing.loads(victim.cookies[_profiles.COOKIE].value, salt=_profiles.SALT))
    assert victim.get(link).status_code == 200
    theirs.refresh_from_db()
    assert theirs.merged_into_id is None and not ProfileMerge.objects.filter(source=theirs).exists()
    assert browser.get(link).status_code == 200
    subscriber = Subscriber.objects.get(email=EMAIL)
    known = Profile.objects.get(subscriber=subscriber, merged_into__isnull=True)
    anonymous.refresh_from_db()
    assert anonymous.merged_into_id == known.pk  # left as an alias
    merge = ProfileMerge.objects.get(source=anonymous)
    assert (merge.target_id, merge.reason) == (known.pk, "abonnement confirmé")
    assert max(newsletter.subscriber_scores(subscriber), key=newsletter.subscriber_scores(subscriber).get) == (
        "famille-enfance")
    assert browser.get(link).status_code == 200  # opened again: nothing more to merge
    assert ProfileMerge.objects.filter(target=known).count() == 1
