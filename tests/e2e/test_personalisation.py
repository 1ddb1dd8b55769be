"""In the browser, personalisation and newsletters (issue 20, acceptance 1): a visitor accepts cookies, reads three
« crèche » pages and finds the family theme first on the home, with « Pourquoi je vois ceci » saying why; once they
withdraw their consent the profile stops changing while the anonymous audience still counts; a visitor subscribes,
confirms by the link of the e-mail the SMTP sink received (their anonymous profile merged server-side into the
subscriber's), receives an edition an agent composed in the browser with its blocks ordered for them, carrying the
RFC 8058 headers, and unsubscribes in one click; a second edition does not reach them. axe-core on every page seen.

The personalised group is chosen deterministically: PERSONALISATION_CONTROL_PERCENT = 0 puts every profile in it (the
control group's default order is tested in tests/assist/test_profiles.py)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.core import signing

from tests.e2e.test_agent_journey import log_in
from tests.e2e.test_site import MODAL_SHOWN, default_order, frozen, settle, site, theme_order  # noqa: F401

# the demo site and its agents (`site`, from test_site.py), with every profile in the personalised group
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("site", "personalised")]

FAMILY = "famille-enfance"
EMAIL = "parent.e2e@example.org"


@pytest.fixture
def personalised(settings: Any) -> None:
    """Every profile in the personalised group; messages may leave at any hour of any day (the test must not depend
    on the time it runs at). The events' rate windows are rows of the database, which each browser test empties."""
    settings.PERSONALISATION_CONTROL_PERCENT = 0
    settings.QUIET_HOURS, settings.QUIET_SUNDAYS, settings.QUIET_HOLIDAYS = "00:00-23:59", True, True
    settings.NEWSLETTER_HOURS = "00:00-23:59"


@pytest.fixture
def raw_mail(sinks: Any) -> Iterator[list[bytes]]:
    """The bytes of every message the SMTP sink receives, headers included (its store keeps only the subject and
    the text)."""
    received: list[bytes] = []
    deliver = sinks.smtp.deliver

    def keep(recipients: list[str], raw: bytes) -> None:
        received.append(raw)
        deliver(recipients, raw)

    sinks.smtp.deliver = keep  # read by each new SMTP session
    yield received
    sinks.smtp.deliver = deliver


# --- helpers ---------------------------------------------------------------------------------------------------
def eventually(condition: Callable[[], Any], timeout: float = 8.0, what: str = "") -> Any:
    """Poll `condition` (a database read) until it is truthy: events.js sends its batch 1.5 s after a page loads."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def pages_of(theme: str, keyword: str = "") -> list[Any]:
    """Published pages whose only theme is `theme` (and whose text holds `keyword`), from the search index."""
    from proactif.assist.models import SearchEntry

    return [r for r in SearchEntry.objects.filter(themes=theme).order_by("page_id")
            if keyword in (r.title + " " + r.summary + " " + r.body).lower()]


def profile_of(tab: Any) -> Any:
    """The profile row this browser's `proactif_profil` cookie names (the alias itself, not what it reads as)."""
    from proactif.assist import _profiles
    from proactif.assist.models import Profile

    values = [c["value"] for c in tab.page.context.cookies() if c["name"] == _profiles.COOKIE]
    if not values:
        return None
    return Profile.objects.filter(key=signing.loads(values[0], salt=_profiles.SALT)).first()


def family_events(profile: Any) -> int:
    from proactif.assist.models import ProfileEvent

    return ProfileEvent.objects.filter(profile_id=profile.pk, theme=FAMILY).count()


def accept_all(tab: Any) -> None:
    from proactif.assist.models import ConsentProof

    tab.goto("/site/")
    assert theme_order(tab)[0] != FAMILY and theme_order(tab) == default_order()
    tab.page.get_by_role("button", name="Tout accepter").click()
    tab.page.locator("#bandeau-cookies").wait_for(state="detached")
    assert [p.choices for p in ConsentProof.objects.order_by("pk")] == [{"personnalisation": True}]


def read_creche_pages(tab: Any) -> list[Any]:
    """The three « crèche » pages read one after the other, each page view waited for in the profile."""
    creches = pages_of(FAMILY, "crèche")[:3]
    assert len(creches) == 3, "the demo site has fewer than three crèche pages in famille-enfance"
    for count, entry in enumerate(creches, start=1):
        assert tab.goto(entry.url).status == 200
        assert tab.page.locator("script[data-personnalisation]").get_attribute("data-personnalisation") == "oui"
        eventually(lambda n=count: profile_of(tab) is not None and family_events(profile_of(tab)) == n,
                   what=f"{count} crèche page views recorded")
    return creches


def settled_profile(tab: Any) -> Any:
    """The profile once the current page's own page view has landed (its count stops moving)."""
    previous = -1
    for _ in range(40):
        time.sleep(0.25)
        profile = profile_of(tab)
        if profile.events == previous:
            return profile
        previous = profile.events
    raise AssertionError("the profile's event count never settled")


def axe_clean(tab: Any, where: str) -> None:
    settle(tab)
    violations = tab.axe()
    assert violations == [], (where, violations)


# --- 1. three crèche pages, the family first ----------------------------------------------------------------------
def test_a_visitor_who_accepts_and_reads_three_creche_pages_sees_the_family_theme_first(
        new_page) -> None:
    from proactif.assist import _profiles
    from proactif.assist.models import Theme

    tab = new_page()
    accept_all(tab)
    read_creche_pages(tab)
    tab.goto("/site/")
    order = theme_order(tab)
    assert order[0] == FAMILY, order
    assert sorted(order) == sorted(default_order())  # the same themes, reordered
    assert tab.page.locator("#ordre-personnalise").is_visible()

    profile = settled_profile(tab)
    assert profile.merged_into_id is None and not profile.frozen and profile.subscriber_id is None
    assert _profiles.group(profile) == "personnalise"
    assert family_events(profile) == 3
    top = _profiles.top(profile)
    assert top[0][0] == FAMILY and top[0][2] == "deduit", top
    assert all(theme != FAMILY for theme, _, _ in top[1:])
    axe_clean(tab, "accueil personnalisé")

    tab.page.locator("#ordre-personnalise").get_by_role("link", name="Pourquoi je vois ceci").click()
    tab.page.wait_for_url("**/site/pourquoi/")
    first = tab.page.locator("#themes-en-tete li").first
    assert first.get_attribute("data-theme") == FAMILY
    name = Theme.objects.get(slug=FAMILY).name
    assert " ".join(first.inner_text().split()) == f"{name} — déduit de vos visites", first.inner_text()
    assert tab.page.locator("#groupe-temoin").count() == 0
    axe_clean(tab, "pourquoi je vois ceci")
    tab.assert_clean()


# --- 2. consent withdrawn: the profile stops, the audience goes on -----------------------------------------------
def test_after_withdrawing_consent_the_profile_stops_changing_and_the_audience_still_counts(
        new_page) -> None:
    from proactif.assist import _audience
    from proactif.assist.models import ConsentProof, ProfileEvent

    tab = new_page()
    accept_all(tab)
    creches = read_creche_pages(tab)
    before = settled_profile(tab)
    events_before = ProfileEvent.objects.filter(profile_id=before.pk).count()
    audience_before = _audience.total()

    tab.page.locator("#lien-gestion-cookies").click()  # the footer's « Gestion des cookies »
    assert tab.wait_until(MODAL_SHOWN), "the modal did not open"
    tab.page.locator("label[for=modale-personnalisation-non]").click()
    assert tab.page.locator("#modale-personnalisation-non").is_checked()
    tab.page.locator("#gestion-cookies button[type=submit]").click()
    assert tab.wait_until("!document.getElementById('gestion-cookies').open"), "the modal stayed open"
    assert eventually(lambda: ConsentProof.objects.order_by("-pk").first().choices == {"personnalisation": False},
                      what="the withdrawal recorded")

    more = pages_of(FAMILY)[3:5] + pages_of("sport")[:1]
    assert len(more) == 3
    for entry in [*creches[:1], *more]:
        assert tab.goto(entry.url).status == 200
        assert tab.page.locator("script[data-personnalisation]").get_attribute("data-personnalisation") == "non"
    tab.goto("/site/")
    assert theme_order(tab) == default_order()  # back to everyone's order
    assert tab.page.locator("#ordre-personnalise").count() == 0
    # even an event posted by hand with the profile's cookie (a page whose script was loaded before) is not kept
    posted = tab.page.request.post(tab.base_url + "/site/evenements/",
                                   data=json.dumps({"events": [{"type": "page_vue", "page": creches[1].page_id}]}),
                                   headers={"Origin": tab.base_url, "Content-Type": "text/plain"})
    assert posted.status == 204
    time.sleep(2.0)  # what a page's script would have sent by now

    after = profile_of(tab)
    assert after.pk == before.pk and after.frozen
    assert (after.interests, after.events) == (before.interests, before.events)
    assert ProfileEvent.objects.filter(profile_id=after.pk).count() == events_before
    assert _audience.total() == audience_before + 5  # four pages and the home, counted without knowing who
    tab.goto("/site/pourquoi/")
    assert tab.page.locator("#profil-suspendu").is_visible()
    tab.assert_clean()


# --- 3. subscribe, confirm, an edition ordered for them, one-click unsubscribe -------------------------------------
def compose(agent: Any, title: str, pages: list[int], lists: list[str]) -> Any:
    """An edition made in the browser: its title, its lists, its pages ticked (the agent's order is the form's)."""
    from proactif.assist.models import Edition

    agent.goto("/redaction/lettres/")
    agent.page.get_by_label("Titre de la nouvelle lettre").fill(title)
    agent.page.get_by_role("button", name="Composer une lettre").click()
    agent.page.wait_for_url(re.compile(r"/redaction/lettres/\d+/$"))
    edition = Edition.objects.get(title=title)
    for slug in lists:
        agent.page.locator(f"label[for=liste-{slug}]").click()
    for pk in pages:
        agent.page.locator(f"label[for=page-{pk}]").click()
    return edition


def plain(text: str) -> str:
    """Text without the e-mail's typography (narrow and non-breaking spaces, curly apostrophes)."""
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").replace("’", "'").split())


def block_titles(text: str) -> list[str]:
    """The titles of a letter's blocks, in their order (each block starts with « — title »)."""
    return [plain(line[1:]) for line in text.splitlines() if re.match(r"—\s", line)]


def test_a_subscriber_confirms_by_the_e_mail_link_gets_an_edition_ordered_for_them_and_unsubscribes_in_one_click(
        new_page, sinks, raw_mail, settings) -> None:
    from proactif.assist import _profiles
    from proactif.assist.models import Edition, ProfileMerge, SearchEntry, Subscriber
    from proactif.audit.models import AccessLog
    from proactif.messaging.models import OutboxMessage, SinkMessage

    tab = new_page()
    # The e-mails' links lead to this server under an https address, as behind the collectivité's TLS proxy (RFC 8058
    # wants an https URI: the e-mail channel writes List-Unsubscribe for no other); `served` maps it back to the test
    # server, which speaks plain HTTP.
    public = tab.base_url.replace("http://", "https://")
    settings.PUBLIC_URL = public

    def served(url: str) -> str:
        assert url.startswith(public + "/"), url
        return tab.base_url + url.removeprefix(public)

    accept_all(tab)
    read_creche_pages(tab)
    tab.goto("/site/")
    assert theme_order(tab)[0] == FAMILY
    anonymous = settled_profile(tab)

    # subscribing: the family list (and sport), double opt-in
    tab.goto("/site/lettre/")
    axe_clean(tab, "formulaire d'abonnement")
    tab.page.get_by_label("Adresse e-mail").fill(EMAIL)
    tab.page.locator("label[for=liste-famille-enfance]").click()
    tab.page.locator("label[for=liste-sport]").click()
    tab.page.get_by_role("button", name=re.compile(r"^M.abonner$")).click()
    tab.page.wait_for_url("**/site/lettre/envoyee/")
    subscriber = Subscriber.objects.get(email=EMAIL)
    assert subscriber.status == Subscriber.PENDING
    assert sorted(t.slug for t in subscriber.lists.all()) == [FAMILY, "sport"]
    assert not ProfileMerge.objects.exists()  # nothing merged before the address is confirmed

    sinks.pump()
    mail = eventually(lambda: SinkMessage.objects.filter(
        recipient=EMAIL, idempotency_key__startswith="assist-lettre-confirmation-").first(),
        what="the confirmation e-mail in the sink")
    found = re.search(r"https?://\S+/site/lettre/confirmation/\S+?/", mail.body)
    assert found, mail.body
    tab.page.goto(served(found.group(0)))  # the link opened in the same browser
    assert tab.page.get_by_role("heading", level=1, name="Abonnement confirmé").is_visible()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.ACTIVE

    [merge] = ProfileMerge.objects.all()
    anonymous.refresh_from_db()
    known = merge.target
    assert (merge.source_id, known.subscriber_id, anonymous.merged_into_id) == (anonymous.pk, subscriber.pk, known.pk)
    assert merge.reason == "abonnement confirmé" and merge.undone_at is None
    assert AccessLog.objects.filter(action="merge", detail__fusion_de_profils=merge.pk).count() == 1  # audited
    assert known.events == anonymous.events and _profiles.top(known)[0][0] == FAMILY
    assert profile_of(tab).pk == anonymous.pk  # the browser's cookie names the alias, which reads as the known one

    tab.page.get_by_role("link", name="Gérer mon abonnement").click()
    tab.page.wait_for_url(re.compile(r"/site/lettre/preferences/"))
    assert "abonnement actif" in tab.page.locator("main").inner_text()
    axe_clean(tab, "préférences")
    tab.assert_clean()

    # an agent of the communication service composes an edition from pages of several themes, family last
    agent = new_page()
    log_in(agent, "communication")
    agent.page.wait_for_url(lambda url: "/connexion/" not in url)
    agent.goto("/redaction/lettres/")
    axe_clean(agent, "lettres")
    agent.page.get_by_label("Titre de la nouvelle lettre").fill("Lettre de décembre")
    agent.page.get_by_role("button", name="Composer une lettre").click()
    agent.page.wait_for_url(re.compile(r"/redaction/lettres/\d+/$"))
    axe_clean(agent, "composition de la lettre")
    shown = [int(v) for v in agent.page.locator("#edition-pages input[name=pages]").evaluate_all(
        "els => els.map(e => e.value)")]
    themes = {pk: set(t.split()) for pk, t in SearchEntry.objects.filter(page_id__in=shown)
              .values_list("page_id", "themes")}

    def before(slug: str, page: int, other_than: int | None = None) -> int | None:
        """The first page of `slug` (and not of the family) shown before `page` in the form."""
        return next((pk for pk in shown[:shown.index(page)] if slug in themes.get(pk, ())
                     and FAMILY not in themes[pk] and pk != other_than), None)

    # a family page that comes after a sport page and a culture one in the form: the agent's order puts it last
    family = next((pk for pk in reversed(shown) if FAMILY in themes.get(pk, ()) and (s := before("sport", pk))
                   and before("culture-loisirs", pk, s)), None)
    assert family is not None, sorted(themes.items())
    sport = before("sport", family)
    culture = before("culture-loisirs", family, sport)
    chosen = [sport, culture, family]
    for slug in (FAMILY, "sport", "culture-loisirs"):
        agent.page.locator(f"label[for=liste-{slug}]").click()
    for pk in chosen:
        agent.page.locator(f"label[for=page-{pk}]").click()
    agent.page.get_by_label("Introduction").fill("Les nouvelles de la commune.")
    agent.page.get_by_role("button", name="Enregistrer et prévisualiser").click()
    agent.page.wait_for_url(re.compile(r"/redaction/lettres/\d+/apercu/$"))
    edition = Edition.objects.get(title="Lettre de décembre")
    titles = {pk: plain(title) for pk, title in SearchEntry.objects.filter(page_id__in=chosen)
              .values_list("page_id", "title")}
    default = block_titles(agent.page.locator("pre").inner_text())
    assert default[-1] == titles[family] and sorted(default) == sorted(titles.values()), default
    assert "Elle partira vers 1 abonné confirmé de ses listes." in " ".join(agent.page.locator("main").inner_text()
                                                                             .split())
    axe_clean(agent, "aperçu de la lettre")
    agent.page.get_by_role("button", name="Envoyer la lettre").click()
    agent.page.wait_for_url(re.compile(r"/apercu/\?envoyee=1$"))
    edition.refresh_from_db()
    assert (edition.status, edition.recipients) == (Edition.SENT, 1)
    assert AccessLog.objects.filter(action="send", detail__lettre=edition.pk).count() == 1
    axe_clean(agent, "lettre envoyée")

    # the subscriber's copy, ordered for them: the family block first
    key = f"assist-lettre-{edition.pk}-{subscriber.pk}"
    row = eventually(lambda: OutboxMessage.objects.filter(idempotency_key=key, status__in=("sent", "delivered"))
                     .first(), what="the edition sent")
    assert (row.lane, row.channel, row.recipient) == ("bulk", "email", EMAIL)
    sinks.pump()
    copy = eventually(lambda: SinkMessage.objects.filter(idempotency_key=key, recipient=EMAIL).first(),
                      what="the edition in the sink")
    received = block_titles(copy.body)
    assert received[0] == titles[family] and sorted(received) == sorted(default), received
    assert received != default

    # its headers: RFC 8058 one-click unsubscribe
    [raw] = [r for r in raw_mail if f"X-Proactif-Key: {key}".encode() in r]
    headers = message_from_bytes(raw, policy=policy.default)
    unsubscribe = row.context["desinscription"]
    assert unsubscribe.startswith(public + "/site/lettre/desinscription/")
    assert headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    answer = tab.page.request.post(served(unsubscribe), data="List-Unsubscribe=One-Click",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 204
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.UNSUBSCRIBED and subscriber.left_at is not None

    # a second edition reaches them no more
    compose(agent, "Lettre de janvier", [sport, family], [FAMILY, "sport"])
    agent.page.get_by_role("button", name="Enregistrer et prévisualiser").click()
    agent.page.wait_for_url(re.compile(r"/redaction/lettres/\d+/apercu/$"))
    # (the page says « 0 abonnés confirmés »: French puts zero in the singular, reported to the lead)
    assert re.search(r"Elle partira vers 0 abonnés? confirmés? de ses listes\.",
                     " ".join(agent.page.locator("main").inner_text().split()))
    agent.page.get_by_role("button", name="Envoyer la lettre").click()
    agent.page.wait_for_url(re.compile(r"/apercu/\?envoyee=1$"))
    second = Edition.objects.get(title="Lettre de janvier")
    assert (second.status, second.recipients) == (Edition.SENT, 0)
    sinks.pump()
    assert not OutboxMessage.objects.filter(idempotency_key__startswith=f"assist-lettre-{second.pk}-").exists()
    assert SinkMessage.objects.filter(recipient=EMAIL).count() == 2  # the confirmation and the first edition
    agent.assert_clean()
    tab.assert_clean()
