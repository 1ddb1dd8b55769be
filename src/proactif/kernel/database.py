"""Waiting out a database that went away (PostgreSQL restarting, a network cut, SQLite busy): the work is
run again on a new connection, with backoff, for a bounded time. Only work that is safe to run twice goes
through here, and never inside a caller's transaction (its earlier writes would be lost with the
connection)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connection

from proactif.kernel.logging import get_logger

log = get_logger(__name__)
DATABASE_ERRORS = (OperationalError, InterfaceError)  # the server down, restarting or cut off; SQLite busy


def in_transaction() -> bool:
    return bool(connection.in_atomic_block)


def reconnect() -> None:
    """Drop this thread's connection: the next query opens a new one (a dropped one is not reused)."""
    if not in_transaction():
        connection.close()


def patiently[T](work: Callable[[], T], until: float, what: str, first: float = 0.2, longest: float = 2.0) -> T:
    """Run `work`; on a database error, reconnect and run it again after `first` seconds, doubling up to
    `longest`, until the monotonic time `until` — then the error goes through. Inside a transaction the
    error goes through at once."""
    delay = first
    while True:
        try:
            return work()
        except DATABASE_ERRORS as exc:
            if in_transaction() or time.monotonic() + delay > until:
                raise
            log.warning("database unavailable: trying again", what=what, error=str(exc)[:200], in_seconds=delay)
            reconnect()
            time.sleep(delay)
            delay = min(longest, delay * 2)


def retrying(work: Callable[..., Any], seconds: float, what: str, first: float = 0.25,
             longest: float = 4.0) -> Callable[..., Any]:
    """`work` wrapped to be run `patiently` for `seconds` at each call (a long-lived thread's callback)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return patiently(lambda: work(*args, **kwargs), time.monotonic() + seconds, what, first, longest)

    return call
