"""CSV files Proactif writes for people to open in a spreadsheet (the DPO's access-log export, screening exports,
import error reports, letter manifests).

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel and LibreOffice:
`=HYPERLINK(…)` sent as an `X-Request-ID` or typed in an imported name would run when the DPO opens the file.
Such a cell gets a leading apostrophe (OWASP's "CSV injection" advice), which spreadsheets show as text.
Numbers written as numbers (int, float) are left alone: they are ours, not someone's input.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, with a leading apostrophe when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` whose every text cell goes through `safe_cell`."""

    def __init__(self, handle: Any, **options: Any):
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: Any, delimiter: str = ";", **options: Any) -> SafeWriter:
    """A CSV writer for spreadsheets: `;`-separated by default (what French spreadsheets expect), formulas
    neutralised."""
    return SafeWriter(handle, delimiter=delimiter, **options)
