"""Where the sinks keep what they receive: buffered in memory, written in batches (a sink must keep up with
thousands of messages a second), counted by idempotency key so a duplicate submission shows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proactif.kernel import clock
from proactif.kernel.logging import get_logger

log = get_logger(__name__)
REPORT_DELAY_SECONDS = 1.0


@dataclass
class Received:
    channel: str
    provider: str
    key: str
    recipient: str
    subject: str
    body: str
    submissions: int = 1


class SinkStore:
    def __init__(self, interval: float | None = 0.1):
        """Received messages are written every `interval` seconds by a thread, or by `flush()` only (None)."""
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], Received] = {}
        self._seen: set[tuple[str, str]] = set()
        # bounces and complaints the SMTP sink returns (monotonic time received, report), applied after a write
        self._reports: list[tuple[float, bytes]] = []
        self._interval = interval
        self._stop = threading.Event()
        self._listeners: list[Callable[[Received], None]] = []
        self._thread = threading.Thread(target=self._run, name="proactif-sink-store", daemon=True)
        if interval is not None:
            self._thread.start()

    def listen(self, callback: Callable[[Received], None]) -> None:
        self._listeners.append(callback)

    def record(self, item: Received) -> bool:
        """Keep a submission; returns False when this key was already received (a duplicate submission)."""
        from proactif.messaging._sinks import smtp as smtp_sink

        ident = (item.provider, item.key)
        report = smtp_sink.report_for(item.recipient, item.key, item.subject) if item.channel == "email" else None
        with self._lock:
            if report is not None and ident not in self._seen:
                self._reports.append((time.monotonic(), report))
            fresh = ident not in self._seen
            self._seen.add(ident)
            if ident in self._pending:
                self._pending[ident].submissions += 1
            else:
                self._pending[ident] = item
        for listener in self._listeners:
            listener(item)
        return fresh

    def flush(self, own_thread: bool = False) -> int:
        """Write what was received, in one upsert: a key already written (a duplicate submission, also from
        another sink process) adds its submissions to the row. A write that fails (the database restarting)
        puts the batch back, to be written with what arrives meanwhile at the next flush. The store's thread
        closes its connection after each write; a caller's thread keeps its own (it may be inside a
        transaction)."""
        from django.db import close_old_connections, connection, transaction

        with self._lock:
            items, self._pending = list(self._pending.values()), {}
        if not items:
            self._apply_reports()
            return 0
        try:
            now = clock.now()
            stamp = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO messaging_sinkmessage (channel, provider, idempotency_key, recipient, subject, body, "
                    "submissions, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (provider, idempotency_key) DO UPDATE "
                    "SET submissions = messaging_sinkmessage.submissions + excluded.submissions",
                    [(i.channel, i.provider, i.key[:200], i.recipient[:400], i.subject[:300], i.body, i.submissions,
                      stamp) for i in items])
        except Exception:
            self._put_back(items)
            if own_thread:
                connection.close()  # a connection the database dropped: the next flush opens a new one
            raise
        finally:
            if own_thread:
                close_old_connections()
        self._apply_reports()
        return len(items)

    def _apply_reports(self) -> None:
        """The bounces and complaints returned, fed to the webhook's handler in this process once the messages
        they are about are written — a second after they came when the store writes on its own, so that the
        sending worker has recorded the message as sent (a report that fails to apply is logged, not retried: the
        sink is a demo)."""
        from proactif.messaging import _feedback as feedback

        before = time.monotonic() - (0.0 if self._interval is None else REPORT_DELAY_SECONDS)
        with self._lock:
            reports = [report for at, report in self._reports if at <= before]
            self._reports = [(at, report) for at, report in self._reports if at > before]
        for report in reports:
            try:
                feedback.apply("sink", report)
            except Exception as exc:
                log.warning("sink bounce not applied", error=str(exc)[:200])

    def _put_back(self, items: list[Received]) -> None:
        with self._lock:
            for item in items:
                ident = (item.provider, item.key)
                newer = self._pending.get(ident)
                if newer is not None:
                    item.submissions += newer.submissions
                self._pending[ident] = item

    def _run(self) -> None:
        wait = self._interval or 0.1
        while not self._stop.wait(wait):
            try:
                self.flush(own_thread=True)
                wait = self._interval or 0.1
            except Exception as exc:
                log.warning("sink store flush failed: kept for the next one", error=str(exc)[:200],
                            pending=len(self._pending))
                wait = min(5.0, wait * 2)  # the database is away: try again less and less often

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.flush()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": len(self._seen), "pending": len(self._pending)}
