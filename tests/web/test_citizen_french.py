"""Grammalecte reads every page a citizen opens — the legal notice, the personal-data page, the accessibility
statement, the agents' login, the pages that ask for a link (titres, alerts, rights), the titres portal and the
answer to an alert opened by a link — as
served (typeset by `web._typography`), with every default option: zero errors, but for the committed exceptions
of `tests/messaging/grammar_exceptions.yaml`, each with its reason."""

from __future__ import annotations

import html
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client

from proactif.accounts.domain import system_actor
from proactif.alerts import services as alerts
from proactif.alerts.models import IncidentRecipient
from proactif.kernel import clock
from proactif.messaging import services as messaging
from proactif.messaging._links import token_for
from proactif.registry.models import Person, Quartier
from tests.conftest import require
from tests.messaging.test_grammar import excused, grammalecte

pytestmark = pytest.mark.django_db
PUBLIC = ("/mentions-legales/", "/donnees-personnelles/", "/accessibilite/", "/connexion/",
          "/demarches/titres/", "/demarches/alerte/", "/demarches/droits/")


def visible_text(page: str) -> str:
    """The words a reader meets: the main content's text, scripts and the DSFR header's skip links aside."""
    page = re.sub(r"<(script|style|template|head)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<(abbr|span)[^>]*>\*</\1>", " ", page)  # a required field's asterisk
    page = re.sub(r"<(br|/p|/li|/h\d|/td|/th|/dt|/dd|/legend|/label|/button|/a)\b[^>]*>", "\n", page)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    lines = (re.sub(r"[ \t\r\n]+", " ", line).strip() for line in text.splitlines())  # no-break spaces kept
    return "\n".join(line for line in lines if len(line.split()) >= 3)


def opened(client: Client, purpose: str, person_id: int, payload: dict | None = None) -> Client:
    link, _ = messaging.create_link(purpose, person_id, payload=payload or {})
    assert client.get(f"/l/{token_for(link.pk)}").status_code == 302
    return client


def test_every_page_a_citizen_reads_passes_grammalecte(tmp_path: Path) -> None:
    require(shutil.which("grammalecte-cli") is not None, "grammalecte-cli is absent (scripts/setup.sh --browser)")
    pages = {path: Client().get(path).content.decode() for path in PUBLIC}  # without a link: the refusal pages
    person = Person.objects.filter(status="active").order_by("id").first()
    with clock.use(clock.FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))):
        pages["portail titres"] = opened(Client(), "deadlines.booking", person.pk).get("/demarches/titres/") \
            .content.decode()
        incident = alerts.create(system_actor("police-1"), alerts.Draft(
            "coupure_eau", "Coupure d'eau", [], [], [Quartier.objects.first().pk], []))
        IncidentRecipient.objects.create(incident=incident, person_id=person.pk)
        pages["réponse à une alerte"] = opened(Client(), alerts.LINK_PURPOSE, person.pk,
                                                {"incident": incident.pk}).get("/demarches/alerte/").content.decode()
    texts = [visible_text(page) for page in pages.values()]
    assert all(len(t) > 200 for t in texts), [len(t) for t in texts]
    reports = grammalecte(texts, [], tmp_path)
    left = [r for r in reports if not excused(r, "page")]
    print(f"grammalecte on citizen pages: {len(pages)} pages, {sum(len(t.splitlines()) for t in texts)} paragraphs, "
          f"{len(reports)} reports, {len(left)} errors")
    assert left == [], left[:20]
