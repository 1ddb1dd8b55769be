"""Fast bulk loading for large writes (synthetic communes, big imports).

PostgreSQL gets COPY FROM STDIN (binary-free text protocol through psycopg 3's `write_row`);
SQLite gets `executemany` on the raw connection inside one transaction. Both take plain tuples
in the order of `columns`, so callers stay database-agnostic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection


def vendor() -> str:
    return str(connection.vendor)


def load_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    cols = ", ".join(columns)
    count = 0
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count
    placeholders = ", ".join("?" for _ in columns)
    raw_cursor = connection.connection.cursor()
    try:
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 20_000:
                raw_cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({placeholders})", batch)
                count += len(batch)
                batch = []
        if batch:
            raw_cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({placeholders})", batch)
            count += len(batch)
    finally:
        raw_cursor.close()
    return count


def in_ids(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """`column` among `ids` as a SQL condition and its parameters: one array parameter on PostgreSQL (no
    query text thousands of placeholders long to build and parse), a list elsewhere."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [int_array(ids)]
    if not ids:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def int_array(values: Iterable[int]) -> str:
    """Integers as a PostgreSQL array literal, for a `%s::bigint[]` parameter: written by one join, where the
    driver would adapt thousands of list elements one by one."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def reserve_ids(table: str, count: int) -> list[int]:
    """`count` ids from the table's sequence (PostgreSQL), for rows copied with their id."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [int(row[0]) for row in cursor.fetchall()]


_defaults: dict[Any, list[tuple[str, str, Any, bool]]] = {}


def _columns(model: Any) -> list[tuple[str, str, Any, bool]]:
    """(attname, column, default, is_json) for every concrete field but the id, computed once per model."""
    from django.db.models import JSONField

    if model not in _defaults:
        _defaults[model] = [(f.attname, f.column, f.get_default(), isinstance(f, JSONField))
                            for f in model._meta.concrete_fields if not f.primary_key]
    return _defaults[model]


def copy_records(model: Any, records: Sequence[dict[str, Any]], *, with_ids: bool = False,
                 skip_conflicts: bool = False, returning: str | None = None) -> list[Any]:
    """Insert rows given as {field attname: value} (fields left out take their default) with COPY on
    PostgreSQL — a fraction of `bulk_create`'s work for thousands of rows; `bulk_create` elsewhere.

    - `with_ids`: returns the new ids, in order (taken from the sequence first on PostgreSQL);
    - `skip_conflicts`: rows whose unique key is already present are left as they are (through a temporary
      table and `INSERT … ON CONFLICT DO NOTHING`); with `returning="<attname>"` the values of that field
      for the rows actually inserted are returned, paired with their id."""
    import json

    from django.db import transaction

    if not records:
        return []
    if connection.vendor != "postgresql":
        objs = [model(**record) for record in records]
        model.objects.bulk_create(objs, batch_size=2000, ignore_conflicts=skip_conflicts)
        if with_ids:
            return [obj.pk for obj in objs]
        if returning:
            values = [record[returning] for record in records]
            return list(model.objects.filter(**{f"{returning}__in": values}).values_list(returning, "id"))
        return []
    if skip_conflicts and returning and not with_ids:
        # Usually nothing is there yet: copy straight into the table with ids from the sequence, and go
        # through the temporary table only when a key already exists (a batch redone after a crash)
        from django.db import IntegrityError
        from psycopg.errors import UniqueViolation

        try:
            with transaction.atomic():
                ids = copy_records(model, records, with_ids=True)
            return [(record[returning], pk) for record, pk in zip(records, ids, strict=True)]
        except (IntegrityError, UniqueViolation):
            pass
    fields = _columns(model)
    table = model._meta.db_table
    ids = reserve_ids(table, len(records)) if with_ids else []
    # The fields the records give, then the others with their default (written out once for every row)
    given_keys = set().union(*records)
    given = [(attname, column, is_json) for attname, column, _, is_json in fields if attname in given_keys]
    rest = [(column, json.dumps(default) if is_json else default) for attname, column, default, is_json in fields
            if attname not in given_keys]
    names = [*(["id"] if with_ids else []), *(column for _, column, _ in given), *(column for column, _ in rest)]
    constants = [value for _, value in rest]
    defaults = {attname: default for attname, _, default, _ in fields}
    dumps = json.dumps

    def row(index: int, record: dict[str, Any]) -> list[Any]:
        values = [ids[index]] if with_ids else []
        for attname, _, is_json in given:
            value = record[attname] if attname in record else defaults[attname]
            values.append(dumps(value) if is_json else value)
        values += constants
        return values

    columns = ", ".join(f'"{n}"' for n in names)
    with transaction.atomic(), connection.cursor() as cursor:
        target = f"tmp_{table}" if skip_conflicts else table
        if skip_conflicts:
            cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{target}" ON COMMIT DELETE ROWS AS '
                           f'SELECT {columns} FROM "{table}" WITH NO DATA')
        with cursor.cursor.copy(f'COPY "{target}" ({columns}) FROM STDIN') as copy:
            for index, record in enumerate(records):
                copy.write_row(row(index, record))
        if not skip_conflicts:
            return ids
        back = f' RETURNING "{returning}", id' if returning else ""
        cursor.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{target}" ON CONFLICT DO NOTHING'
                       + back)
        inserted = list(cursor.fetchall()) if returning else []
        cursor.execute(f'TRUNCATE "{target}"')
        return inserted


def reset_sequences(tables: Iterable[str]) -> None:
    """After inserting explicit ids, move PostgreSQL's id sequences past the largest id."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def max_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return int(cursor.fetchone()[0])


def analyze(tables: Iterable[str]) -> None:
    """Refresh planner statistics after a large load."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def datetime_text(moment: Any) -> str:
    """A timezone-aware datetime as the database column expects it (SQLite: naive UTC text)."""
    from datetime import UTC

    if connection.vendor == "sqlite":
        return str(moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" "))
    return str(moment.isoformat())


def delete_all(tables: Iterable[str]) -> None:
    """Empty tables quickly, children first (TRUNCATE on PostgreSQL)."""
    tables = list(tables)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks pending in this transaction would make TRUNCATE fail: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


def secondary_indexes(tables: Iterable[str]) -> list[tuple[str, str, str]]:
    """(name, table, CREATE INDEX statement) of the non-unique indexes of `tables`."""
    tables = list(tables)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                           "AND tablename = ANY(%s) AND indexdef NOT LIKE 'CREATE UNIQUE%%'", [tables])
        else:
            marks = ", ".join("%s" for _ in tables)
            cursor.execute(f"SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           f"AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN ({marks})", tables)
        return [(str(n), str(t), str(d)) for n, t, d in cursor.fetchall()]


RESTORE_LOCK = 727_001  # PostgreSQL advisory lock: one process at a time rebuilds what a load left dropped


def restore_deferred_indexes() -> int:
    """Rebuild every index a bulk load dropped (also those left by a load that crashed). Processes starting
    together (workers, schedulers) take turns: `CREATE INDEX IF NOT EXISTS` alone is not safe when two sessions
    create the same index at the same moment on PostgreSQL."""
    from proactif.kernel.models import DeferredIndex

    if not DeferredIndex.objects.exists():
        return 0
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [RESTORE_LOCK])
    try:
        pending = list(DeferredIndex.objects.all())  # read again under the lock: another may have done it
        existing = {name for name, _, _ in secondary_indexes({index.table for index in pending})} if pending \
            else set()
        rebuilt = 0
        for index in pending:
            if index.name not in existing:
                with connection.cursor() as cursor:
                    cursor.execute(if_not_exists(index.definition))
                rebuilt += 1
            index.delete()
        return rebuilt
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RESTORE_LOCK])


def if_not_exists(definition: str) -> str:
    """`CREATE [UNIQUE] INDEX name …` as `CREATE INDEX IF NOT EXISTS name …` (PostgreSQL and SQLite)."""
    import re

    return re.sub(r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?!IF\s+NOT\s+EXISTS)", r"CREATE \1INDEX IF NOT EXISTS ",
                  definition, count=1, flags=re.IGNORECASE)


@contextmanager
def deferred_indexes(tables: Iterable[str]) -> Iterator[None]:
    """Drop the secondary indexes of `tables` for the time of a bulk load, then build them once: sorting a
    million keys at the end is much faster than maintaining them row by row. The definitions are saved
    first, so a crash leaves them to `restore_deferred_indexes` (run by every later load and migration)."""
    from proactif.kernel import clock
    from proactif.kernel.models import DeferredIndex

    restore_deferred_indexes()
    indexes = secondary_indexes(tables)
    DeferredIndex.objects.bulk_create(DeferredIndex(name=n, table=t, definition=d, dropped_at=clock.now())
                                      for n, t, d in indexes)
    with connection.cursor() as cursor:
        for name, _, _ in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    try:
        yield
    finally:
        restore_deferred_indexes()
