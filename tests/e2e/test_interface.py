"""The agent interface as agents meet it in a browser: each role's home page, a table sorted, paged and exported,
and the pages that scrolled sideways at 375 px (the resident file, Messages, the DPO journal) — screenshots of
them in var/screenshots/, axe-core on every page."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest

from proactif.kernel import clock
from proactif.messaging.models import OutboxMessage
from proactif.registry.models import Person
from tests.conftest import AGENTS
from tests.e2e.test_agent_journey import commune, log_in  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
HOME_BLOCKS = {
    "etat_civil": ["Tâches de mon service", "Rendez-vous du jour", "Distribution des messages", "Boîte de test"],
    "police": ["Incidents et alertes", "Tâches de mon service", "Distribution des messages", "Boîte de test"],
    "ccas": ["Tâches de mon service", "Droits à examiner", "Distribution des messages", "Boîte de test"],
    "dpo": ["Distribution des messages", "Journal des accès"],
    "admin": ["Boîte de test", "Comptes et clés"],
}


def messages(n: int, service: str = "etat_civil") -> None:
    now = clock.now()
    people = list(Person.objects.filter(status="active").order_by("id").values_list("id", flat=True)[:n])
    OutboxMessage.objects.bulk_create([OutboxMessage(
        idempotency_key=f"e2e-table-{i}", person_id=pk, service=service, purpose="information",
        channel="sms" if i % 3 else "email", recipient=f"+3361234{i:04d}", template_key="deadlines.rappel",
        status="sent", not_before=now, created_at=now - timedelta(minutes=i), sent_at=now - timedelta(hours=i),
        updated_at=now) for i, pk in enumerate(people)])


@pytest.mark.parametrize("who", sorted(HOME_BLOCKS))
def test_each_role_has_its_home_page(new_page, commune, who) -> None:  # noqa: F811
    messages(12, AGENTS[who][0])  # the service's own messages: the chart has something to draw
    tab = new_page()
    log_in(tab, who)
    tab.page.wait_for_url(re.compile(r"/$"))
    blocks = tab.page.locator("section[aria-labelledby^='bloc-'] h3").all_inner_texts()
    assert blocks == HOME_BLOCKS[who]
    if "Distribution des messages" in blocks:  # the chart is drawn, and its values are a table away
        assert tab.wait_until("(() => { const c = document.getElementById('envois-par-canal');"
                              " return !!c && c.width > 0 && window.Chart !== undefined; })()", 15.0)
        tab.page.get_by_text("Voir les valeurs (messages envoyés par canal, 14 derniers jours)").click()
        assert tab.page.get_by_role("columnheader", name="SMS").is_visible()
    tab.assert_accessible()
    tab.page.set_viewport_size({"width": 375, "height": 800})
    tab.assert_fits()
    tab.assert_accessible()
    tab.assert_clean()


def test_a_table_sorts_pages_and_exports_what_its_filters_select(new_page, commune) -> None:  # noqa: F811
    messages(60)
    tab = new_page()
    log_in(tab, "etat_civil")
    tab.page.wait_for_url(re.compile(r"/$"))
    tab.goto("/messages/")
    table = tab.page.locator("#table-messages")
    assert "1 à 50 sur 60 messages" in table.inner_text()
    header = table.get_by_role("columnheader", name=re.compile("Créé"))
    assert header.get_attribute("aria-sort") == "descending"  # the newest first
    table.get_by_role("link", name=re.compile(r"Trier par .\s*Créé\s*. croissant")).click()
    tab.page.wait_for_url(re.compile(r"tri=cree"))
    table = tab.page.locator("#table-messages")
    assert table.get_by_role("columnheader", name=re.compile("Créé")).get_attribute("aria-sort") == "ascending"
    first_ascending = table.locator("tbody tr").first.locator("td").first.inner_text()
    tab.page.get_by_role("navigation", name=re.compile("Pagination")).get_by_role("link", name="2", exact=True).click()
    tab.page.wait_for_url(re.compile(r"page=2"))
    table = tab.page.locator("#table-messages")
    assert "51 à 60 sur 60 messages" in table.inner_text() and table.locator("tbody tr").count() == 10
    assert "tri=cree" in tab.page.url  # the order is kept from page to page
    tab.assert_accessible()
    with tab.page.expect_download() as download:
        table.get_by_role("link", name=re.compile("Exporter les 60 lignes")).click()
    path = download.value.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig")), delimiter=";"))
    assert len(rows) == 61 and rows[0][0] == "Créé" and rows[1][0].replace(" ", " ")[:10] in first_ascending
    assert all("•" in row[4] for row in rows[1:])  # recipients masked in the file as on the page
    tab.assert_clean()


@pytest.mark.parametrize(("name", "path"), [("fiche-habitant", "person"), ("messages", "/messages/"),
                                             ("journal-dpo", "/dpo/journal/")])
def test_no_page_scrolls_sideways_at_375_px(new_page, commune, name, path) -> None:  # noqa: F811
    messages(20)
    tab = new_page()
    who = "dpo" if path.startswith("/dpo/") else "etat_civil"
    log_in(tab, who)
    tab.page.wait_for_url(re.compile(r"/$"))
    if path == "person":
        person = Person.objects.filter(status="active", documents__isnull=False, household__isnull=False).first()
        path = f"/habitants/{person.pk}/"
    tab.page.set_viewport_size({"width": 375, "height": 812})
    tab.goto(path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.page.screenshot(path=str(SCREENSHOTS / f"{name}-375px.png"), full_page=True)
    tab.assert_fits()
    tab.assert_accessible()
    tab.assert_clean()
