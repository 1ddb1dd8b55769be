"""Benchmarks: `proactif bench NAME --json`. Each measures a capability at a realistic size and, in the
same run, a reference (the naive method or the raw limit), and reports both side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _benchmarks() -> dict[str, Callable[..., dict[str, Any]]]:
    from proactif.bench import alert, assist, count, geo, journeys, outbox, rights, search, seed, sendtime, telemetry

    return {"seed": seed.run, "search": search.run, "journeys": journeys.run, "outbox": outbox.run,
            "sendtime": sendtime.run, "rights": rights.run, "geo": geo.run,
            "alert": alert.run, "count": count.run, "telemetry": telemetry.run,
            "assist": lambda **_options: assist.run()}  # in-process, on the shipped themes: no database to seed


def run_benchmark(name: str, **options: Any) -> dict[str, Any]:
    benchmarks = _benchmarks()
    if name not in benchmarks:
        raise LookupError(f"benchmark inconnu : {name} (disponibles : {', '.join(sorted(benchmarks))})")
    return benchmarks[name](**options)
