"""The shared table component (`kernel.tables`): sorting by declared columns only, numbered pages that keep the
filters, and CSV exports that hold every filtered row, neutralise formulas, are logged naming the persons and
answer only to whom the page answers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory

from proactif.audit.models import AccessLog
from proactif.kernel import clock, tables
from proactif.messaging.models import OutboxMessage
from proactif.registry.models import Person

pytestmark = pytest.mark.django_db

COLUMNS = (tables.Column("nom", "Nom", sort="nom"), tables.Column("age", "Âge", sort="age", numeric=True),
           tables.Column("actions", "Actions", export=False))
ROWS = [{"nom": f"Personne {i:03d}", "age": (i * 37) % 90, "person_id": i} for i in range(1, 131)]


def table(query: str = "", **options) -> tables.Table:
    return tables.Table(RequestFactory().get(f"/liste/{query}"), ROWS, COLUMNS, caption="Liste", per_page=20,
                        **options)


def test_only_declared_columns_sort_and_the_headers_say_how() -> None:
    by_age = table("?tri=-age")
    ages = [r["age"] for r in by_age.page]
    assert ages == sorted(ages, reverse=True) and by_age.sort_key == "age" and by_age.descending
    headers = {h["key"]: h for h in by_age.headers()}
    assert headers["age"]["state"] == "descending" and "tri=age" in headers["age"]["url"]
    assert headers["nom"]["state"] == "" and "tri=nom" in headers["nom"]["url"]
    assert "sortable" not in headers["actions"]
    for hostile in ("?tri=person_id", "?tri=-actions", "?tri=nom;DROP TABLE x", "?tri=" + "a" * 5000):
        assert table(hostile, default_sort="nom").sort_key == "nom"  # the default order, never an error


def test_pages_are_numbered_keep_the_filters_and_count_in_french() -> None:
    t = table("?statut=informe&page=4")
    assert t.page.number == 4 and t.total == 130 and t.range_text() == "61 à 80 sur 130 lignes"
    links = t.page_links()
    assert [link.get("number") for link in links] == [1, 2, 3, 4, 5, 6, 7]
    assert all("statut=informe" in link["url"] for link in links)
    far = table("?page=1")
    assert [link.get("number", "…") for link in far.page_links()] == [1, 2, 3, "…", 7]
    assert table("?page=999").page.number == 7 and table("?page=-1").page.number == 1
    empty = tables.Table(RequestFactory().get("/"), [], COLUMNS, caption="Vide")
    assert empty.count_text() == "aucune ligne" and empty.range_text() == "aucune ligne"
    one = tables.Table(RequestFactory().get("/"), ROWS[:1], COLUMNS, caption="Une")
    assert one.count_text() == "1 ligne"


def test_the_export_holds_every_filtered_row_without_formulas() -> None:
    seen: list[tuple[int, str]] = []

    def prepare(rows, action):
        seen.append((len(rows), action))
        return rows

    rows = [*ROWS, {"nom": "=HYPERLINK(\"http://x\")", "age": None, "person_id": 999}]
    t = tables.Table(RequestFactory().get("/liste/?export=csv&tri=nom"), rows, COLUMNS, caption="Liste",
                     per_page=20, export="liste", prepare=prepare)
    assert t.export_requested
    response = t.csv_response()
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert lines[0] == ["Nom", "Âge"] and len(lines) == 1 + 131  # every row, not the page; no button column
    assert lines[1][0] == "'=HYPERLINK(\"http://x\")"  # neutralised, and sorted like the page
    assert seen == [(131, tables.EXPORT_ACTION)]


def test_an_export_beyond_the_limit_is_refused_and_the_page_says_to_filter(monkeypatch) -> None:
    from django.template.loader import render_to_string

    monkeypatch.setattr(tables, "EXPORT_LIMIT", 100)
    t = tables.Table(RequestFactory().get("/liste/?export=csv"), ROWS, COLUMNS, caption="Liste", export="liste")
    response = t.csv_response()
    assert response.status_code == 400 and "Plus de 100 lignes" in response.content.decode()
    assert not t.exportable
    html = render_to_string("web/includes/datatable.html", {"table": t, "body": ""})
    assert "affinez les filtres pour exporter" in html and "export=csv" not in html
    one = tables.Table(RequestFactory().get("/liste/"), ROWS[:1], COLUMNS, caption="Une", export="liste")
    assert one.export_label() == "Exporter la ligne (CSV)"
    assert t.export_label() == "Exporter les 130 lignes (CSV)"


def test_a_table_without_an_export_name_offers_none() -> None:
    t = table("?export=csv")
    assert not t.export_requested and t.export_url() == ""


ERRORS = {0: "=cmd|' /C calc'!A0", 1: "550 5.1.1 <habitant1@exemple.fr> refusé"}  # a formula; an address


def outbox_rows(n: int, service: str) -> list[OutboxMessage]:
    now = clock.now()
    people = list(Person.objects.filter(status="active").values_list("id", flat=True)[:n])
    return OutboxMessage.objects.bulk_create([OutboxMessage(
        idempotency_key=f"table-test-{i}", person_id=pk, service=service, purpose="information",
        channel="email", recipient=f"habitant{i}@exemple.fr", template_key="test.message", status="failed",
        error=ERRORS.get(i, ""), not_before=now, created_at=now - timedelta(minutes=i),
        updated_at=now) for i, pk in enumerate(people)])


def test_the_outbox_exports_its_filtered_rows_logged_naming_the_persons(agents) -> None:
    rows = outbox_rows(60, "etat_civil")
    agent = Client()
    agent.force_login(agents["etat_civil"])
    page = agent.get("/messages/", {"status": "failed"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 à 50 sur 60 messages" in html and "fr-table__wrapper" in html and "Exporter les 60 lignes" in html
    assert 'aria-sort="descending"' in html  # the newest first, and the header says so
    response = agent.get("/messages/", {"status": "failed", "export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff")), delimiter=";"))
    assert len(lines) == 61 and lines[0][:3] == ["Créé", "Modèle", "Habitant (n°)"]
    assert lines[1][7].startswith("'=") and "habitant0@" not in response.content.decode()  # masked recipients
    assert lines[2][7] == "550 5.1.1 <•••> refusé"  # a provider's error quoting the address: masked as well
    logged = set(AccessLog.objects.filter(action=tables.EXPORT_ACTION, actor_label="etat_civil@test.proactif.fr")
                 .values_list("person_id", flat=True))
    assert logged == {m.person_id for m in rows}


def test_an_export_answers_only_to_whom_the_page_answers(agents) -> None:
    outbox_rows(3, "etat_civil")
    for who in ("dpo", "etat_civil"):
        client = Client()
        client.force_login(agents[who])
        assert client.get("/messages/", {"export": "csv"}).status_code == 200
    outsider = Client()
    outsider.force_login(agents["admin"])  # the administrator reads the sinks, not the outbox
    assert outsider.get("/messages/", {"export": "csv"}).status_code == 403
    police = Client()
    police.force_login(agents["police"])  # another service: its own messages only, none of état civil's
    response = police.get("/messages/", {"export": "csv"})
    assert response.status_code == 200 and len(response.content.decode().strip().splitlines()) == 1
    assert Client().get("/messages/", {"export": "csv"}).status_code == 302  # to the login page
