"""Grammalecte reads what a visitor of the personalised site and a newsletter subscriber read, as served: « Pourquoi
je vois ceci » with a profile that orders the home, each question of « Mieux vous connaître », the newsletter's
subscription, confirmation, preferences and unsubscription pages — with every default option: zero errors, but for
the committed exceptions of `tests/messaging/grammar_exceptions.yaml`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.test import Client

from proactif.assist import _newsletter as newsletter
from proactif.assist.models import DemarchePage, Subscriber, Theme
from proactif.kernel import clock
from tests.assist.test_site_french import assert_correct_french
from tests.conftest import require
from tests.web.test_citizen_french import visible_text

pytestmark = pytest.mark.django_db
INLINE = re.compile(r"</?(?:a|strong|em|b|i|mark)\b[^>]*>")


def _text(response: object) -> str:
    return visible_text(INLINE.sub("", response.content.decode()))  # type: ignore[attr-defined]


def test_the_visitor_and_subscriber_pages_pass_grammalecte(tmp_path: Path, settings) -> None:
    require(shutil.which("grammalecte-cli") is not None, "grammalecte-cli is absent (scripts/setup.sh --browser)")
    settings.PERSONALISATION_CONTROL_PERCENT = 0  # this visitor's home is ordered by their profile
    visitor = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0")
    texts = [_text(visitor.get("/site/pourquoi/")), _text(visitor.get("/site/mieux-vous-connaitre/"))]  # no consent
    visitor.post("/site/cookies/", {"tout": "accepter"})
    creche = DemarchePage.objects.live().filter(title__icontains="crèche").first()
    assert creche is not None
    for _ in range(3):
        assert visitor.get(creche.url).status_code == 200
    origin = {"HTTP_ORIGIN": "http://testserver"}
    visitor.post("/site/evenements/", {"events": [{"type": "page_vue", "page": creche.pk}] * 3},
                 content_type="application/json", **origin)
    pages = ["/site/", "/site/pourquoi/"]
    for url in pages:
        response = visitor.get(url)
        assert response.status_code == 200, url
        texts.append(_text(response))
    questions = 0
    for _ in range(6):  # each question in turn, passed
        page = visitor.get("/site/mieux-vous-connaitre/")
        assert page.status_code == 200
        texts.append(_text(page))
        question = re.search(r'name="question" value="([^"]+)"', page.content.decode())
        if question is None:
            break
        questions += 1
        visitor.post("/site/mieux-vous-connaitre/", {"question": question.group(1), "action": "passer"})
    assert questions >= 3

    texts.append(_text(Client().get("/site/lettre/")))
    subscriber = Subscriber.objects.create(email="lecture@example.org", status=Subscriber.ACTIVE,
                                           consent_version="test", created_at=clock.now(), confirmed_at=clock.now())
    subscriber.lists.set(Theme.objects.filter(slug__in=["famille-enfance", "sport"]))
    reader = Client()
    for kind in ("preferences", "desinscription"):
        response = reader.get(f"/site/lettre/{kind}/{newsletter.token(kind, subscriber)}/")
        assert response.status_code == 200, kind
        texts.append(_text(response))
    assert_correct_french(texts, tmp_path, "the visitor's and subscriber's pages")
