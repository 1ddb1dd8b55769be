"""Charts for the agents' pages, each with its data table.

A capability builds a `Chart` (labels, one or more series); the page includes `web/includes/chart.html`, which
draws it with Chart.js (served locally, loaded only on pages that have a chart) and writes the same figures as a
table beside it — the text alternative RGAA asks of an image carrying information. Series differ by line dash
and point shape as well as colour (RGAA 3.1: information not by colour alone), and the legend shows the shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Series:
    label: str
    data: tuple[float | int | None, ...]


@dataclass(frozen=True)
class Chart:
    """`kind`: "line" (over time) or "bar"; `horizontal` bars for long category names (quartiers); `unit` is
    what the figures count (« messages »), said in the description and the table's caption."""

    id: str
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    kind: str = "line"
    horizontal: bool = False
    unit: str = ""
    description: str = field(default="")
    label_header: str = ""  # the table's first column (« Jour », « Quartier »)

    @property
    def spec_id(self) -> str:
        return f"{self.id}-donnees"

    @property
    def empty(self) -> bool:
        return not self.labels or not any(v for s in self.series for v in s.data if v)

    @property
    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "horizontal": self.horizontal, "labels": list(self.labels),
                "series": [{"label": s.label, "data": list(s.data)} for s in self.series]}

    @property
    def rows(self) -> list[tuple[str, list[float | int | None]]]:
        """The table's rows: one per label, one cell per series."""
        return [(label, [s.data[i] for s in self.series]) for i, label in enumerate(self.labels)]

    @property
    def alt(self) -> str:
        return (f"{self.title}{' — ' + self.description if self.description else ''}. "
                "Les valeurs figurent dans le tableau qui suit le graphique.")
