"""`proactif bench journeys`: the journey engine on a large commune, against the raw database limit.

On the benchmark commune (1,000,000 residents by default, PostgreSQL by default), in a child process:

1. **entry** — the passport/CNI renewal journey, with a wide entry window so that hundreds of thousands of
   documents enter at once: one `INSERT … SELECT` creates the instances, then two worker processes advance
   them through their first step (the alert: a signed link and an outbox message each);
2. **advance** — every instance's 15-day wait is made due; the two workers advance them (the reminder: a
   link and a message each, the next wait);
3. **reference** — a bulk `UPDATE` of the same rows (node, steps, wake-up time), the raw limit of the
   database for touching those rows once.

Messages stay in the outbox (the executor is swapped for one that discards the queueing): this measures
the engine, `bench outbox` measures sending.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from proactif.bench.common import machine, run_measured, seeded_database
from proactif.kernel import clock

TARGET_RATE = 20_000  # instances per second, entry and advance
TARGET_RATIO = 0.3
WORKERS = 2
BENCH_KEY = "bench-titres"


def run(residents: int | None = None, database: str = "postgres") -> dict[str, Any]:
    residents = residents or 1_000_000
    db = seeded_database(database, f"seed-{database}", residents)
    measured = run_measured(["bench-probe", "journeys"], db)
    probe = measured.output
    return {"benchmark": "journeys", "database": db.label, "residents": residents, **probe,
            "peak_rss_mb_probe_tree": measured.peak_rss_mb, "targets": {
                "instances_per_second": TARGET_RATE, "ratio_vs_raw_update": TARGET_RATIO},
            "met": probe["entry"]["instances_per_second"] >= TARGET_RATE
            and probe["advance"]["instances_per_second"] >= TARGET_RATE
            and probe["advance"]["ratio_vs_raw_update"] >= TARGET_RATIO, "machine": machine()}


class Discard:
    """An executor that drops what is queued: the messages stay in the outbox, unsent."""

    mode = "discard"

    def submit(self, spec: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None


def worker() -> dict[str, Any]:
    """One advancing process (`proactif bench-probe journeys-worker`): advance until nothing is due."""
    from proactif.journeys import _engine as engine
    from proactif.kernel import executor

    executor.set_backend(Discard())
    started = clock.real_now().timestamp()
    figures = engine.run_until_idle()
    return {"started": started, "ended": clock.real_now().timestamp(), "advanced": figures.get("advanced", 0),
            "messages": figures.get("messages", 0)}


def _advance_with_workers(workers: int) -> dict[str, Any]:
    """Start `workers` processes at once; the wall time runs from the first start to the last end."""
    import os

    env = dict(os.environ)
    processes = [subprocess.Popen([sys.executable, "-m", "proactif.cli", "bench-probe", "journeys-worker", "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(workers)]
    results = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"bench worker failed:\n{err[-2000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    seconds = max(r["ended"] for r in results) - min(r["started"] for r in results)
    advanced = sum(r["advanced"] for r in results)
    return {"workers": workers, "advanced": advanced, "messages": sum(r["messages"] for r in results),
            "per_worker": [r["advanced"] for r in results], "seconds": round(seconds, 2),
            "instances_per_second": round(advanced / seconds) if seconds else 0}


def _reset() -> None:
    from proactif.kernel import bulkload

    bulkload.delete_all(["journeys_journeyevent", "journeys_agenttask", "journeys_nodevisit",
                         "journeys_journeyinstance", "messaging_link", "messaging_outboxmessage",
                         "messaging_engagement"])


def _definition(grace: str) -> None:
    """The shipped renewal journey under another key, entering every title that expired in the last
    `grace` or expires within six months."""
    from pathlib import Path

    from proactif.journeys import services as journeys

    shipped = Path(journeys.__file__).resolve().parents[1] / "deadlines" / "journeys" / "titres-identite.yaml"
    source = shipped.read_text(encoding="utf-8")
    source = source.replace("key: titres-identite", f"key: {BENCH_KEY}").replace("grace: 1 month", f"grace: {grace}")
    journeys.save_definition(source, author="bench", publish=True)


def probe(grace: str = "4 years") -> dict[str, Any]:
    """Runs inside the child process (`proactif bench-probe journeys`)."""
    from datetime import timedelta

    from django.db import connection

    from proactif.journeys import services as journeys
    from proactif.journeys.models import JourneyInstance
    from proactif.kernel import clock
    from proactif.messaging.models import Link, OutboxMessage

    _reset()
    _definition(grace)
    # Only the bench journey enters: the others are retired for the run
    from proactif.journeys.models import JourneyDefinition

    JourneyDefinition.objects.filter(status="published").exclude(key=BENCH_KEY).update(status="retired")
    try:
        started = time.perf_counter()
        entered = journeys.enter_due()[BENCH_KEY]
        insert_seconds = time.perf_counter() - started
        first = _advance_with_workers(WORKERS)
        entry_seconds = insert_seconds + first["seconds"]
        entry = {"instances": entered, "insert_select_seconds": round(insert_seconds, 2),
                 "insert_select_per_second": round(entered / insert_seconds) if insert_seconds else 0,
                 "first_step": first, "messages_created": OutboxMessage.objects.count(),
                 "links_created": Link.objects.count(), "seconds": round(entry_seconds, 2),
                 "instances_per_second": round(entered / entry_seconds) if entry_seconds else 0}

        # Advance: every 15-day wait times out now
        due = clock.now() - timedelta(seconds=1)
        waiting = JourneyInstance.objects.filter(journey_key=BENCH_KEY, status="active", node="attente_reponse")
        count = waiting.update(next_wake_at=due, timeout_at=due)
        advance = _advance_with_workers(WORKERS)
        messages_after = OutboxMessage.objects.count()

        # Reference: the same rows, touched once by one bulk UPDATE
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE journeys_journeyinstance SET node = 'reference', steps = steps + 1, "
                           "next_wake_at = next_wake_at + interval '1 day', updated_at = now() "
                           "WHERE journey_key = %s AND node = 'attente_rendez_vous'"
                           if connection.vendor == "postgresql" else
                           "UPDATE journeys_journeyinstance SET node = 'reference', steps = steps + 1, "
                           "updated_at = CURRENT_TIMESTAMP WHERE journey_key = %s AND node = 'attente_rendez_vous'",
                           [BENCH_KEY])
            raw_rows = cursor.rowcount
        raw_seconds = time.perf_counter() - started
        raw_rate = raw_rows / raw_seconds if raw_seconds else 0
        advance.update(due=count, messages_created=messages_after - entry["messages_created"],
                       ratio_vs_raw_update=round(advance["instances_per_second"] / raw_rate, 3) if raw_rate else 0)
        reference = {"method": "one bulk UPDATE of the same rows (node, steps, wake-up time)", "rows": raw_rows,
                     "seconds": round(raw_seconds, 2), "rows_per_second": round(raw_rate)}
        entry["ratio_vs_raw_update"] = round(entry["instances_per_second"] / raw_rate, 3) if raw_rate else 0
        return {"entry": entry, "advance": advance, "reference": reference, "grace": grace}
    finally:
        _reset()
        JourneyDefinition.objects.filter(key=BENCH_KEY).delete()
        from proactif.kernel.install import install

        install()
