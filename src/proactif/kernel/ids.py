"""Row ids as they arrive from outside (a URL, an API body, a command line): bounded to what the database holds.

A primary key is a signed 64-bit integer on PostgreSQL and SQLite alike; a larger number reaching a query
raises an overflow in the driver (a 500, a traceback). Ids are bounded where they enter instead:
- pages: every `<int:…>` of a declared route is matched with the `id` converter (at most 18 digits, so a
  larger number simply matches no route: 404);
- the API: `Id` (pydantic) on path, query and body ids: 422 naming the field;
- the CLI: `click.IntRange(1, MAX_ID)` (`proactif.cli.ID`);
- forms and query strings: `parse_id` (None for anything else).
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

MAX_ID = 2**63 - 1  # the largest BIGINT

Id = Annotated[int, Interval(ge=1, le=MAX_ID)]


def parse_id(raw: object) -> int | None:
    """An id typed in a form or a query string: 1 to 18 ASCII digits, else None (not an id we could hold)."""
    text = str(raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 and int(text) > 0 else None


class IdConverter:
    """`<id:name>`: 1 to 18 digits (every such number fits a BIGINT), as an int."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
