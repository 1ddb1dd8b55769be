"""Newsletter editions: editors compose from published pages and lists, preview, send; each active subscriber gets
one direct message on the bulk lane, its blocks ordered by their interests, keyed (edition, subscriber) so that a
second send reaches only newcomers; links go through a signed redirect that counts the block's clicks and leads
only to the site or the allowed domains."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client

from proactif.assist import _newsletter as newsletter
from proactif.assist.models import ContentPage, Edition, EditionBlock, Profile, Subscriber, Theme
from proactif.audit.models import AccessLog
from proactif.kernel import clock
from proactif.messaging.models import OutboxMessage
from tests.conftest import fr
from tests.web.test_pages import logged_in

pytestmark = pytest.mark.django_db

TUESDAY_MORNING = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def now():
    moving = clock.FixedClock(TUESDAY_MORNING)
    with clock.use(moving):
        yield moving


def page_of(theme: str) -> ContentPage:
    from wagtail.models import Page

    for page in Page.objects.live().specific().order_by("pk"):
        if isinstance(page, ContentPage) and [t.slug for t in page.themes.all()] == [theme]:
            return page
    raise AssertionError(f"no published page of the single theme {theme}")


def subscriber(email: str, lists: tuple[str, ...], status: str = Subscriber.ACTIVE) -> Subscriber:
    made = Subscriber.objects.create(email=email, status=status, consent_version="test", created_at=clock.now())
    made.lists.set(Theme.objects.filter(slug__in=lists))
    return made


def editor() -> Client:
    return logged_in(Client(), "communication")


@pytest.fixture
def edition(now) -> Edition:
    """Three pages, culture first in the editors' order, for the lists sport and famille-enfance."""
    made = Edition.objects.create(title="La lettre de décembre", created_at=clock.now(), created_by="test")
    pages = [page_of("culture-loisirs"), page_of("sport"), page_of("famille-enfance")]
    newsletter.compose(made, "La lettre de décembre", "Les nouvelles du mois.", [p.pk for p in pages],
                       ["sport", "famille-enfance"])
    return made


def titles_in(body: str, edition: Edition) -> list[str]:
    blocks = {b.title: b for b in newsletter.blocks_of(edition)}
    return [line[2:] for line in body.splitlines() if line.startswith("— ") and line[2:] in blocks]


def test_editors_compose_preview_and_send_and_others_cannot(now, agents) -> None:
    client = editor()
    assert client.get("/redaction/lettres/").status_code == 200
    empty = client.post("/redaction/lettres/", {"titre": "  "})
    assert empty.status_code == 400 and fr("Donnez un titre de 150 caractères au plus") in empty.content.decode()
    created = client.post("/redaction/lettres/", {"titre": "Lettre de Noël"})
    assert created.status_code == 302
    made = Edition.objects.get(title="Lettre de Noël")
    pages = [page_of("sport"), page_of("culture-loisirs")]
    refused = client.post(f"/redaction/lettres/{made.pk}/", {"titre": "Lettre de Noël", "pages": [pages[0].pk]})
    assert refused.status_code == 400 and "Choisissez au moins une liste." in refused.content.decode()
    assert not made.blocks.exists()
    saved = client.post(f"/redaction/lettres/{made.pk}/", {"titre": "Lettre de Noël", "introduction": "Bonnes fêtes",
                                                           "pages": [p.pk for p in pages], "listes": ["sport"]})
    assert saved.status_code == 302
    assert list(made.blocks.values_list("page_id", "position")) == [(pages[0].pk, 0), (pages[1].pk, 1)]
    subscriber("lecteur@example.org", ("sport",))
    preview = client.get(f"/redaction/lettres/{made.pk}/apercu/")
    assert preview.status_code == 200
    text = preview.content.decode()
    assert "lecteur@example.org" not in text
    assert fr("Elle partira vers 1 abonné confirmé de ses listes.") in text
    assert "Bonnes fêtes" in text and "[lien suivi]" in text
    assert client.post(f"/redaction/lettres/{made.pk}/envoyer/").status_code == 302
    made.refresh_from_db()
    assert (made.status, made.recipients) == (Edition.SENT, 1)
    assert AccessLog.objects.filter(action="send", detail__lettre=made.pk).count() == 1
    other = logged_in(Client(), "police")
    assert other.get("/redaction/lettres/").status_code == 403


def test_each_copy_orders_its_blocks_by_the_subscriber_interests_on_the_bulk_lane(edition) -> None:
    sporty = subscriber("sportif@example.org", ("sport",))
    parent = subscriber("parent@example.org", ("famille-enfance",))
    subscriber("en-attente@example.org", ("sport",), status=Subscriber.PENDING)
    subscriber("parti@example.org", ("sport",), status=Subscriber.UNSUBSCRIBED)
    subscriber("arrete@example.org", ("sport",), status=Subscriber.STOPPED)
    subscriber("autre-liste@example.org", ("culture-loisirs",))
    stamp = TUESDAY_MORNING.timestamp()
    for who, interests, chosen in ((sporty, {"sport": [9.0, stamp], "famille-enfance": [1.0, stamp]}, {}),
                                   (parent, {"culture-loisirs": [5.0, stamp], "sport": [8.0, stamp]},
                                    {"famille-enfance": True, "sport": False})):
        Profile.objects.create(key=who.email[:32], consent_id="c", created_at=clock.now(), seen_at=clock.now(),
                               subscriber=who, chosen=chosen, interests=interests)
    figures = newsletter.send_edition(edition)
    assert figures == {"destinataires": 2, "messages": 2}
    rows = {r.recipient: r for r in OutboxMessage.objects.filter(idempotency_key__startswith=f"assist-lettre-"
                                                                                            f"{edition.pk}-")}
    assert set(rows) == {"sportif@example.org", "parent@example.org"}
    titles = {b.themes[0]: b.title for b in newsletter.blocks_of(edition)}
    assert titles_in(rows["sportif@example.org"].context["texte"], edition) == [
        titles["sport"], titles["famille-enfance"], titles["culture-loisirs"]]
    assert titles_in(rows["parent@example.org"].context["texte"], edition) == [
        titles["famille-enfance"], titles["culture-loisirs"], titles["sport"]]
    row = rows["parent@example.org"]
    assert (row.lane, row.purpose, row.person_id, row.policy, row.context["abonne"], row.context["lettre"]) == (
        "bulk", "information", None, ["email"], parent.pk, edition.pk)
    unsubscribe = row.context["desinscription"]
    assert unsubscribe.startswith("http") and "/site/lettre/desinscription/" in unsubscribe
    answer = Client().post(urlsplit(unsubscribe).path, "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 204
    parent.refresh_from_db()
    assert parent.status == Subscriber.UNSUBSCRIBED


def test_without_a_profile_the_chosen_lists_come_first_then_the_editors_order(edition) -> None:
    reader = subscriber("sans-profil@example.org", ("famille-enfance",))
    newsletter.send_edition(edition)
    body = OutboxMessage.objects.get(idempotency_key=f"assist-lettre-{edition.pk}-{reader.pk}").context["texte"]
    titles = {b.themes[0]: b.title for b in newsletter.blocks_of(edition)}
    assert titles_in(body, edition) == [titles["famille-enfance"], titles["culture-loisirs"], titles["sport"]]


def test_sending_again_reaches_only_the_newcomers(edition) -> None:
    subscriber("premier@example.org", ("sport",))
    assert newsletter.send_edition(edition)["destinataires"] == 1
    assert newsletter.send_edition(edition)["destinataires"] == 1
    assert OutboxMessage.objects.filter(idempotency_key__startswith=f"assist-lettre-{edition.pk}-").count() == 1
    subscriber("second@example.org", ("famille-enfance",))
    newsletter.send_edition(edition)
    assert OutboxMessage.objects.filter(idempotency_key__startswith=f"assist-lettre-{edition.pk}-").count() == 2
    edition.refresh_from_db()
    assert (edition.status, edition.recipients, edition.sent_at) == (Edition.SENT, 2, TUESDAY_MORNING)


def test_the_signed_redirect_counts_the_block_and_goes_only_to_allowed_places(edition, settings) -> None:
    settings.NEWSLETTER_ALLOWED_DOMAINS = ["www.service-public.fr"]
    reader = subscriber("lecteur@example.org", ("sport",))
    newsletter.send_edition(edition)
    body = OutboxMessage.objects.get(idempotency_key=f"assist-lettre-{edition.pk}-{reader.pk}").context["texte"]
    links = re.findall(r"Lire : (\S+)", body)
    assert len(links) == 3
    client = Client()
    first = client.get(urlsplit(links[0]).path)
    block = EditionBlock.objects.get(edition=edition, page_id=page_of("sport").pk)
    assert first.status_code == 302 and urlsplit(first["Location"]).path == page_of("sport").url
    client.get(urlsplit(links[0]).path)
    block.refresh_from_db()
    assert block.clicks == 2
    allowed = newsletter.click_link(block, "https://www.service-public.fr/particuliers/vosdroits/F1234")
    assert client.get(urlsplit(allowed).path)["Location"] == (
        "https://www.service-public.fr/particuliers/vosdroits/F1234")
    elsewhere = newsletter.click_link(block, "https://evil.example/phishing")
    assert client.get(urlsplit(elsewhere).path).status_code == 400
    sneaky = newsletter.click_link(block, "javascript:alert(1)")
    assert client.get(urlsplit(sneaky).path).status_code == 400
    forged = signing.dumps({"b": block.pk, "u": "https://evil.example/"}, salt="une-autre-cle")
    assert client.get(f"/site/lettre/lien/{forged}/").status_code == 400
    token = urlsplit(links[0]).path.split("/")[-2]
    assert client.get(f"/site/lettre/lien/{token[:-2]}xy/").status_code == 400
    block.refresh_from_db()
    assert block.clicks == 3  # the allowed external link only


def test_a_stopped_address_receives_no_further_edition(edition) -> None:
    reader = subscriber("rebond@example.org", ("sport",))
    newsletter.on_email_feedback("email_feedback", 0, address="rebond@example.org", kind="hard", key="k",
                                 stopped=True)
    assert newsletter.send_edition(edition)["destinataires"] == 0
    assert not OutboxMessage.objects.filter(context__abonne=reader.pk).exists()


def test_a_letter_leaves_with_the_one_click_unsubscribe_headers(edition, sinks, settings, monkeypatch) -> None:
    from proactif.messaging._channels.email import SmtpClient

    settings.PUBLIC_URL = "https://www.belleroche.example"
    reader = subscriber("entetes@example.org", ("sport",))
    newsletter.send_edition(edition)
    row = OutboxMessage.objects.get(idempotency_key=f"assist-lettre-{edition.pk}-{reader.pk}")
    unsubscribe = row.context["desinscription"]
    assert unsubscribe.startswith("https://www.belleroche.example/site/lettre/desinscription/")
    written: list[bytes] = []
    wire = SmtpClient.wire

    def keep(message, sender):  # the bytes the SMTP client writes for this letter
        made = wire(message, sender)
        if made is not None and message.key == row.idempotency_key:
            written.append(made[1])
        return made

    monkeypatch.setattr(SmtpClient, "wire", staticmethod(keep))
    from proactif.messaging import _outbox as outbox

    outbox.send_batch([row.pk])
    row.refresh_from_db()
    assert row.status == "sent", row.error
    [raw] = written
    assert f"\r\nList-Unsubscribe: <{unsubscribe}>\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
