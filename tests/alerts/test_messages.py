"""The alert form shows each channel's message before it goes to thousands (issue 16): the published template
rendered with the agent's text and the area, as a resident will receive it — the very text the send writes,
the resident's link aside — an SMS with its length, encoding and segments, the letter only for the types
announced days ahead, the English version when there is an English text; French typography on the page."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from proactif.alerts import services as alerts
from proactif.geo import services as geo
from proactif.kernel import clock
from proactif.messaging.models import OutboxMessage, SinkMessage
from proactif.registry.models import Person, Quartier
from tests.alerts.sending import send_everything

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
NNBSP = "\u202f"


@pytest.fixture
def agent(agents) -> Client:
    geo.forget_index()
    client = Client()
    client.force_login(agents["police"])
    return client


def quartier() -> Quartier:
    return max(Quartier.objects.all(), key=lambda q: Person.objects.filter(
        household__address__quartier=q, status="active").count())


def shown(client: Client, **body: object) -> tuple[int, str]:
    response = client.post("/alertes/messages/", json.dumps(body), content_type="application/json")
    return response.status_code, response.content.decode()


def block(page: str, channel: str) -> str:
    found = re.search(rf'<li class="fr-mb-3w" data-canal="{channel}">(.*?)</li>', page, re.S)
    return found.group(1) if found else ""


def text_of(fragment: str, lang: str = "fr") -> str:
    return html.unescape(re.search(rf'<pre class="proactif-pre" lang="{lang}"[^>]*>(.*?)</pre>', fragment,
                                   re.S).group(1))


def test_the_form_shows_every_channel_of_the_alert_as_residents_will_read_it(agent) -> None:
    home = agent.get("/alertes/").content.decode()
    assert "Les messages tels que les habitants les recevront" in home
    assert f"«{NNBSP}[Votre message]{NNBSP}»" in home and "[Votre message]" in block(home, "sms")

    q = quartier()
    status, page = shown(agent, type="coupure_electricite", titre="Panne", quartiers=[q.pk],
                         texte="Courant coupé jusqu'à 23 h. Ne touchez pas aux fils : danger !")
    assert status == 200
    assert [c for c in re.findall(r'data-canal="(\w+)"', page)] == ["sms", "whatsapp", "messenger", "push", "email"]
    sms = text_of(block(page, "sms"))
    assert f"quartier {q.nom}" in sms and "Courant coupé jusqu'à 23 h." in sms  # GSM-7: a straight apostrophe
    link = re.search(r"https?://\S+/l/(X+)", sms)
    assert link and len(link.group(1)) > 30  # a stand-in as long as a real token
    assert "Encodage GSM-7" in block(page, "sms") and "SMS par habitant" in block(page, "sms")
    assert 'data-resume="SMS en GSM-7' in page
    email = block(page, "email")
    assert f"Objet{NNBSP}:" in email and "jusqu’à 23\xa0h" in text_of(email)  # typographic on e-mail
    assert f"fils{NNBSP}: danger{NNBSP}!" in text_of(email)
    assert "Courrier" not in page  # a power cut is no use by post

    status, page = shown(agent, type="travaux", titre="Chaussée", quartiers=[q.pk], texte="Rue fermée lundi.")
    assert status == 200 and "letter" in re.findall(r'data-canal="(\w+)"', page)
    assert "Madame" in text_of(block(page, "letter"))  # the example resident

    status, page = shown(agent, type="inondation", quartiers=[q.pk], texte="Crue attendue ⚠ évacuez les caves",
                         texte_en="Flood expected, clear your cellars.")
    sms = block(page, "sms")
    assert "Encodage UCS-2" in sms and "<code>⚠</code>" in sms and "Sans eux, le message tiendrait en" in sms
    assert "Version anglaise" in sms and "Flood expected, clear your cellars." in text_of(sms, "en")

    status, page = shown(agent, type="tornade", texte="x")
    assert status == 400 and "type inconnu" in page


def test_the_sms_and_the_email_shown_are_the_ones_sent(agent, sinks, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    q = quartier()
    body = {"type": "coupure_eau", "titre": "Fuite", "quartiers": [q.pk],
            "texte": "L'eau est coupée jusqu'à 18 h : prévoyez des réserves."}
    with clock.use(clock.FixedClock(NOW)) as moving:
        _, page = shown(agent, **body)
        sent = agent.post("/alertes/envoyer/", json.dumps(body), content_type="application/json")
        assert sent.status_code == 201, sent.content
        send_everything(moving)
    sinks.pump()
    messages = OutboxMessage.objects.filter(trigger=alerts.trigger(sent.json()["incident"]),
                                           status__in=("sent", "delivered"))
    checked = set()
    for channel in ("sms", "email"):
        key = messages.filter(channel=channel).values_list("idempotency_key", flat=True).first()
        received = SinkMessage.objects.get(idempotency_key=key)
        token = re.search(r"/l/(\S+)", received.body).group(1)
        expected = text_of(block(page, channel)).replace("X" * len(token), token)
        assert received.body.replace("\r\n", "\n").strip() == expected.strip(), channel
        checked.add(channel)
    assert checked == {"sms", "email"}
