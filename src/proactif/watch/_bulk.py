"""Statements that carry thousands of rows — the readings of a batch, their hourly aggregates, the rules' memories,
the devices heard from — written once for both databases.

- **PostgreSQL**: one statement whatever the number of rows, the values sent as one array per column and spread by
  `unnest`, bound on the server by a psycopg cursor. A `VALUES` list of thousands of parameters is what Django's
  client-side binding would otherwise write out as text and PostgreSQL parse and plan, every time (measured: most
  of the ingester's time on PostgreSQL went there, not into storing the rows).
- **SQLite**: `VALUES` lists of at most `PARAMETERS` parameters a statement, through Django's cursor.

Same connection, same transaction either way. A statement that may meet the same key twice (`ON CONFLICT … DO
UPDATE`) must be given each key once: PostgreSQL refuses to update a row twice in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

PARAMETERS = 8000  # per SQLite statement: under its limit (32,766)


def _server_cursor() -> Any:
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def insert(table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]], tail: str = "",
           ) -> list[tuple[Any, ...]]:
    """INSERT `rows` into `table`; `columns` are (name, PostgreSQL type) pairs; `tail` the ON CONFLICT and
    RETURNING clauses. Returns what RETURNING gave (nothing without it)."""
    if not rows:
        return []
    names = ", ".join(name for name, _ in columns)
    returning = "RETURNING" in tail.upper()
    if connection.vendor == "postgresql":
        arrays = [list(column) for column in zip(*rows, strict=True)]
        spread = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        with _server_cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({spread}) {tail}", arrays)
            return list(cursor.fetchall()) if returning else []
    width = len(columns)
    per = max(1, PARAMETERS // width)
    row = "(" + ", ".join(["%s"] * width) + ")"
    out: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * len(chunk))} {tail}",
                           [value for item in chunk for value in item])
            if returning:
                out += cursor.fetchall()
    return out


def update(table: str, assignments: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE `table` row by row from `rows`, whose first column is the id: `assignments` refer to the new values
    as `v.<name>` and to the current ones as `t.<name>`."""
    if not rows:
        return
    names = [name for name, _ in columns]
    if connection.vendor == "postgresql":
        spread = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        with _server_cursor() as cursor:
            cursor.execute(f"UPDATE {table} AS t SET {assignments} FROM unnest({spread}) AS v({', '.join(names)}) "
                           f"WHERE t.id = v.{names[0]}", [list(column) for column in zip(*rows, strict=True)])
        return
    values = ", ".join(f"%s AS {name}" for name in names)
    with connection.cursor() as cursor:  # SQLite: UPDATE … FROM a one-row SELECT, the statement prepared once
        cursor.executemany(f"UPDATE {table} AS t SET {assignments} FROM (SELECT {values}) AS v "
                           f"WHERE t.id = v.{names[0]}", [list(row) for row in rows])
