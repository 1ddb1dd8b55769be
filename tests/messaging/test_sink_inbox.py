"""The demo's built-in inbox — « Boîte de test », as the README names it (Messages → Boîte de test) — gives each
message's citizen link whole and clickable, to the sending service and the administrator only, so a newcomer
follows a resident's way in two clicks: the inbox, the link, the citizen's page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from proactif.kernel import clock
from proactif.messaging import domain, services
from proactif.messaging.models import OutboxMessage, SinkMessage
from tests.conftest import fr
from tests.sinks import reachable_person

pytestmark = pytest.mark.django_db
README = Path(__file__).resolve().parents[2] / "README.md"


def alert_received(person_id: int) -> str:
    """An alert the police sent a resident, as the SMS sink caught it: its link live and whole at the end of a
    sentence. Returns the link."""
    from proactif.alerts.models import Incident

    now = clock.now()
    incident = Incident.objects.create(type_code="coupure_eau", title="Coupure d'eau", status="active",
                                       created_by="police@test.proactif.fr", created_at=now, updated_at=now)
    _, url = services.create_link("alerts.reponse", person_id, payload={"incident": incident.pk})
    message = OutboxMessage.objects.create(
        idempotency_key="boite-1", person_id=person_id, service="police_municipale", purpose="alertes",
        lane="urgent", policy=["sms"], channel="sms", template_key="alerte.sms", status="sent", not_before=now,
        recipient="+33600104577", body="Coupure d'eau. Répondez ici : [lien personnel]", created_at=now,
        updated_at=now, sent_at=now)
    SinkMessage.objects.create(channel="sms", provider="sms-a", idempotency_key=message.idempotency_key,
                               recipient=message.recipient, received_at=now,
                               body=f"Coupure d'eau. Êtes-vous en sécurité ? Répondez ici : {url}. " + "x" * 300)
    return url


def logged_in(agent: object) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_the_inbox_gives_the_citizen_link_whole_and_it_leads_to_the_citizens_page(agents) -> None:
    url = alert_received(reachable_person(agents, ("sms",)).person_id)
    police = logged_in(agents["police"])
    page = police.get("/messages/boite-de-test/").content.decode()
    assert "<h1>Boîte de test</h1>" in page and "<title>Boîte de test" in page
    assert f'<a class="fr-link fr-text--sm" href="{url}">{url}</a>' in page  # whole, though the text is cut at 300
    # the second click: the link, then the page it was made for (the resident's answer to the alert)
    opened = police.get(urlsplit(url).path)
    assert opened.status_code == 302
    citizen = police.get(opened["Location"])
    assert citizen.status_code == 200 and fr("Comment allez-vous ?") in citizen.content.decode()


def test_only_the_sending_service_and_the_administrator_see_the_link(agents) -> None:
    url = alert_received(reachable_person(agents, ("sms",)).person_id)
    token = url.rsplit("/", 1)[1]
    assert token in logged_in(agents["admin"]).get("/messages/boite-de-test/").content.decode()
    assert token not in logged_in(agents["communication"]).get("/messages/boite-de-test/").content.decode()
    assert logged_in(agents["dpo"]).get("/messages/boite-de-test/").status_code == 403
    assert token not in logged_in(agents["police"]).get("/messages/").content.decode()  # the outbox: never the link


def test_the_readme_and_the_outbox_name_the_inbox_as_its_page_does(agents) -> None:
    assert "**Messages → Boîte de test**" in README.read_text(encoding="utf-8")
    outbox = logged_in(agents["police"]).get("/messages/").content.decode()
    assert re.search(r'href="/messages/boite-de-test/"[^>]*>Boîte de test<', outbox)


@pytest.mark.parametrize(("text", "links"), [
    ("Répondez : https://mairie.fr/l/Mw:1vR:xY-z_9.", ["https://mairie.fr/l/Mw:1vR:xY-z_9"]),
    ("http://127.0.0.1:8011/l/AbC (ou http://127.0.0.1:8011/l/AbC)", ["http://127.0.0.1:8011/l/AbC"]),
    ("Voir https://mairie.fr/demarches/ et https://mairie.fr/l/Q1:a:b", ["https://mairie.fr/l/Q1:a:b"]),
    ("[lien personnel]", []), ("", []),
])
def test_citizen_links_are_found_whole_in_a_text(text: str, links: list[str]) -> None:
    assert domain.citizen_links(text) == links
