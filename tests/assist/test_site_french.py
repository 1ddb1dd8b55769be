"""Grammalecte reads the public website as served — every published page of the synthetic commune's site, the
home, the sections, a theme, the search, the cookies and interests pages, the consent banner and manager — with
every default option: zero errors, but for the committed exceptions of `tests/messaging/grammar_exceptions.yaml`,
each with its reason."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.test import Client
from wagtail.models import Page

from proactif.assist.models import ContentPage, Theme
from tests.conftest import require
from tests.messaging.test_grammar import excused, grammalecte
from tests.web.test_citizen_french import visible_text

pytestmark = pytest.mark.django_db
INLINE = re.compile(r"</?(?:a|strong|em|b|i|mark)\b[^>]*>")


def test_every_page_of_the_public_site_passes_grammalecte(tmp_path: Path) -> None:
    require(shutil.which("grammalecte-cli") is not None, "grammalecte-cli is absent (scripts/setup.sh --browser)")
    client = Client()
    pages = [p for p in Page.objects.live().specific() if isinstance(p, ContentPage)]
    assert len(pages) >= 100
    urls = ["/site/", "/site/demarches/", "/site/actualites/", "/site/agenda/", "/site/recherche/?q=crèche",
            "/site/cookies/", "/site/mes-centres-d-interet/", *(f"/site/themes/{t.slug}/" for t in Theme.objects.all()),
            *(p.url for p in pages)]
    texts = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        # inline elements join the words around them (« l'<a>école</a> »): no line break or space in their place
        texts.append(visible_text(INLINE.sub("", response.content.decode())))
    assert_correct_french(texts, tmp_path, "the public site")


def assert_correct_french(texts: list[str], tmp_path: Path, what: str) -> None:
    """Grammalecte finds no error in the pages' texts but the committed exceptions; a paragraph met on many pages
    (the header, the footer, a card) is read once."""
    paragraphs = list(dict.fromkeys(line for text in texts for line in text.splitlines()))
    reports = grammalecte(["\n".join(paragraphs)], [], tmp_path)
    left = [r for r in reports if not excused(r, "page")]
    print(f"grammalecte on {what}: {len(texts)} pages, {len(paragraphs)} distinct paragraphs, "
          f"{len(reports)} reports, {len(left)} errors")
    assert left == [], sorted({str(r) for r in left})
