"""One table component for the agents' lists: sortable columns, numbered pages with counts, and a CSV export of
the rows the filters select.

A view describes its columns once and hands the rows over (a QuerySet, sorted and counted by the database, or a
list); the page renders them with `{% datatable table %}…rows…{% enddatatable %}` (`web/templatetags/tables.py`),
which writes the current DSFR table markup — header with the count and the export button, a container that
scrolls inside the page at 375 px rather than the page itself, sortable headers with `aria-sort`, the pager.

The export is the same URL with `?export=csv`: it answers to whom the page answers (same route, same rule), holds
every row the filters select (not only the page shown), neutralises formula cells (`kernel.csvexport`), and goes
through the view's `prepare`, the hook that names the persons — the very function that logs a page's read logs
the export's (`prepare(rows, "view" | EXPORT_ACTION)`). Sorting takes only the columns declared sortable
(`?tri=-montant`): a parameter never reaches `order_by` unless a column names it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse

from proactif.kernel import clock, csvexport
from proactif.kernel.text import count_fr, number_fr

SORT, PAGE, EXPORT = "tri", "page", "export"
EXPORT_ACTION = "export_list"  # the access log's action for rows that left as a file (`prepare(rows, action)`)
EXPORT_LIMIT = 100_000  # an export larger than this is refused: filter first (a spreadsheet is not a registry)


@dataclass(frozen=True)
class Column:
    """`key`: the column's name in URLs (`?tri=key`); `sort`: the field the database orders by (a QuerySet) or
    the attribute/key of a row (a list) — empty, the column is not sortable; `value`: what the CSV holds for a
    row (an attribute/key name or a function; by default the row's `key`); `export`: False for a column with
    nothing to export (its buttons); `shown`: False for a column only the export has (the page shows it inside
    another cell)."""

    key: str
    label: str
    sort: str = ""
    value: str | Callable[[Any], Any] | None = None
    numeric: bool = False
    export: bool = True
    shown: bool = True

    def cell(self, row: Any) -> Any:
        if callable(self.value):
            return self.value(row)
        name = self.value or self.key
        if isinstance(row, dict):
            return row.get(name)
        return attrgetter(name)(row)


class Table:
    """The rows of one list, in the order and page the request asks for."""

    def __init__(self, request: HttpRequest, rows: QuerySet[Any] | Sequence[Any], columns: Sequence[Column], *,
                 caption: str, default_sort: str = "", per_page: int = 50, export: str = "",
                 count: str = "ligne|lignes|aucune ligne",
                 prepare: Callable[[list[Any], str], list[Any]] | None = None):
        self.request, self.columns, self.caption, self.per_page = request, tuple(columns), caption, per_page
        self.export_name, self.count_forms = export, count
        self.prepare = prepare or (lambda rows, action: rows)
        self._by_key = {c.key: c for c in self.columns}
        wanted = request.GET.get(SORT, "") or default_sort
        key = wanted.removeprefix("-")
        column = self._by_key.get(key)
        if column is None or not column.sort:  # an unknown or unsortable column: the default order, not an error
            key, column = default_sort.removeprefix("-"), self._by_key.get(default_sort.removeprefix("-"))
            wanted = default_sort
        self.sort_key = key if column is not None and column.sort else ""
        self.descending = wanted.startswith("-") and bool(self.sort_key)
        self.rows = self._sorted(rows, column) if self.sort_key and column is not None else rows
        self._page: Page[Any] | None = None

    # --- order and pages ---------------------------------------------------------------------------------------
    def _sorted(self, rows: QuerySet[Any] | Sequence[Any], column: Column) -> QuerySet[Any] | list[Any]:
        if isinstance(rows, QuerySet):
            field = F(column.sort)
            order = field.desc(nulls_last=True) if self.descending else field.asc(nulls_last=True)
            return rows.order_by(order, "-pk" if self.descending else "pk")

        def key(row: Any) -> tuple[int, Any]:
            value = row.get(column.sort) if isinstance(row, dict) else attrgetter(column.sort)(row)
            return (value is None) != self.descending, value if value is not None else 0  # empty cells last

        return sorted(rows, key=key, reverse=self.descending)

    @property
    def page(self) -> Page[Any]:
        if self._page is None:
            raw = self.request.GET.get(PAGE, "")
            number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 1  # beyond the end: the last
            self._page = Paginator(self.rows, self.per_page).get_page(max(number, 1))
            self._page.object_list = self.prepare(list(self._page.object_list), "view")
        return self._page

    @property
    def total(self) -> int:
        return self.page.paginator.count

    def count_text(self) -> str:
        return count_fr(self.total, self.count_forms)

    def range_text(self) -> str:
        page = self.page
        if page.paginator.num_pages <= 1:
            return self.count_text()
        return f"{page.start_index()} à {page.end_index()} sur {self.count_text()}"

    def url(self, **changes: Any) -> str:
        """This page's URL with `changes` to its query (None removes a parameter); filters are kept, a request
        for the file is not (a link to sort or page shows the page)."""
        query = self.request.GET.copy()
        query.pop(EXPORT, None)
        for name, value in changes.items():
            query.pop(name, None)
            if value is not None:
                query[name] = str(value)
        return "?" + urlencode(sorted(query.lists()), doseq=True)

    def headers(self) -> list[dict[str, Any]]:
        """Per column: its label, and for a sortable one the link that sorts by it (ascending first, then the
        reverse) with its current `aria-sort`."""
        out = []
        for column in (c for c in self.columns if c.shown):
            header: dict[str, Any] = {"label": column.label, "numeric": column.numeric, "key": column.key}
            if column.sort:
                current = column.key == self.sort_key
                state = ("descending" if self.descending else "ascending") if current else ""
                target = column.key if not current or self.descending else f"-{column.key}"
                header.update(sortable=True, state=state, url=self.url(**{SORT: target, PAGE: None}),
                              action=f"Trier par « {column.label} » "
                                     f"{'décroissant' if target.startswith('-') else 'croissant'}")
            out.append(header)
        return out

    @property
    def page_url_previous(self) -> str:
        return self.url(**{PAGE: self.page.number - 1})

    @property
    def page_url_next(self) -> str:
        return self.url(**{PAGE: self.page.number + 1})

    def page_links(self) -> list[dict[str, Any]]:
        """First, last, the current page and its two neighbours, with `…` where pages are skipped."""
        page = self.page
        last = page.paginator.num_pages
        shown = sorted({1, last, *range(max(1, page.number - 2), min(last, page.number + 2) + 1)})
        links: list[dict[str, Any]] = []
        for i, n in enumerate(shown):
            if i and n - shown[i - 1] > 1:
                links.append({"gap": True})
            links.append({"number": n, "url": self.url(**{PAGE: n}), "current": n == page.number})
        return links

    # --- export ------------------------------------------------------------------------------------------------
    @property
    def export_requested(self) -> bool:
        return bool(self.export_name) and self.request.GET.get(EXPORT) == "csv"

    def export_url(self) -> str:
        return self.url(**{EXPORT: "csv", PAGE: None}) if self.export_name else ""

    @property
    def exportable(self) -> bool:
        """Within the export's limit (beyond it the button says to filter first)."""
        return self.total <= EXPORT_LIMIT

    def export_label(self) -> str:
        """« Exporter la ligne », « Exporter les 1 234 lignes (CSV) » — the rows the filters select."""
        if self.total == 1:
            return "Exporter la ligne (CSV)"
        return f"Exporter les {number_fr(self.total)} lignes (CSV)"

    def csv_response(self) -> HttpResponse:
        """Every row the filters select, in the order shown, through `prepare` (which logs the read naming the
        persons), as a `;`-separated UTF-8 file with a BOM (what French spreadsheets open without asking)."""
        rows = list(self.rows[:EXPORT_LIMIT + 1]) if isinstance(self.rows, QuerySet) else list(self.rows)
        if len(rows) > EXPORT_LIMIT:
            return HttpResponse(f"Plus de {number_fr(EXPORT_LIMIT)} lignes : affinez les filtres avant d'exporter.",
                                status=400, content_type="text/plain; charset=utf-8")
        rows = self.prepare(rows, EXPORT_ACTION)
        exported = [c for c in self.columns if c.export]
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csvexport.writer(buffer)
        writer.writerow([c.label for c in exported])
        writer.writerows([_cell(c.cell(row)) for c in exported] for row in rows)
        stamp = clock.now().astimezone(clock.local_tz()).strftime("%Y%m%d-%H%M")
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.export_name}-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


def _cell(value: Any) -> Any:
    """A spreadsheet's reading of a value: dates day first, decimals with a comma, booleans in words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return value.astimezone(clock.local_tz()).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, (float, Decimal)):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    return value

