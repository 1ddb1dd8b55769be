"""`proactif bench rights`: screening every household of a large commune with OpenFisca-France, against the
per-household path (one OpenFisca simulation per household — the OpenFisca Web API / Mes Aides pattern).

On the benchmark commune (PostgreSQL by default), in child processes measured from outside:

1. **screening** — `proactif screen --no-cache --workers N`: vectorised simulations by chunks of 10,000
   households, one process per core; households per second, wall time, peak RSS of the largest worker;
2. **re-run** — the same screening with the cache: households whose inputs did not change are not computed;
3. **reference** — the per-household path on a sample of households (each one its own simulation, built
   from its Web API situation, in one process); the ratio is the screening's households per second per
   worker over the reference's households per second;
4. **quality** — the first run against the generator's ground truth (`synth.services.detection_quality`): per
   benefit, the agreement on eligibility between the generator's legislation and OpenFisca, and the precision
   and recall of detection.
"""

from __future__ import annotations

import os
import time
from typing import Any

from proactif.bench.common import machine, run_measured, seeded_database

TARGET_HOUSEHOLDS = 1_000_000
TARGET_SECONDS = 600  # for TARGET_HOUSEHOLDS
TARGET_RSS_MB = 2048  # per worker process
TARGET_RATIO = 500
PERIOD = "2026-11"
SAMPLE = 12


def run(residents: int | None = None, database: str = "postgres") -> dict[str, Any]:
    residents = residents or 2_100_000  # about 1,000,000 households
    workers = os.cpu_count() or 1
    db = seeded_database(database, f"seed-{database}", residents)
    first = run_measured(["screen", "--period", PERIOD, "--no-cache", "--workers", str(workers)], db)
    again = run_measured(["screen", "--period", PERIOD, "--workers", str(workers)], db)
    reference = run_measured(["bench-probe", "rights-per-household", "--count", str(SAMPLE)], db).output
    quality = run_measured(["bench-probe", "rights-quality", "--run", str(first.output["run"])], db).output
    households = first.output["households"]
    rate = households / first.seconds if first.seconds else 0.0
    per_worker = rate / workers
    projected = TARGET_HOUSEHOLDS / rate if rate else None
    return {
        "benchmark": "rights", "database": db.label, "residents": residents, "households": households,
        "benefits": len(first.output["benefits"]), "model": first.output["model"], "workers": workers,
        "screening": {"seconds": round(first.seconds, 1), "households_per_second": round(rate, 1),
                      "households_per_second_per_worker": round(per_worker, 1),
                      "peak_rss_mb_largest_process": first.peak_process_rss_mb,
                      "peak_rss_mb_process_tree": first.peak_rss_mb,
                      "projected_seconds_for_1m_households": round(projected) if projected else None,
                      "detected": {b: f["detected"] for b, f in first.output["benefits"].items()}},
        "rerun_with_cache": {"seconds": round(again.seconds, 1), "from_cache": again.output["from_cache"],
                             "households_per_second": round(households / again.seconds, 1) if again.seconds else 0},
        "reference_per_household": reference,
        "detection_quality": quality,
        "ratio_per_worker_vs_per_household": round(per_worker / reference["households_per_second"], 1)
        if reference["households_per_second"] else None,
        "targets": {"households": TARGET_HOUSEHOLDS, "seconds": TARGET_SECONDS, "rss_mb_per_worker": TARGET_RSS_MB,
                    "ratio": TARGET_RATIO},
        "met": bool(projected and projected <= TARGET_SECONDS and first.peak_process_rss_mb <= TARGET_RSS_MB
                    and reference["households_per_second"]
                    and per_worker / reference["households_per_second"] >= TARGET_RATIO),
        "machine": machine()}


def per_household(count: int = SAMPLE) -> dict[str, Any]:
    """Inside the benchmark database: `count` households, each computed alone (the Web API way), with the
    tax-benefit system already built (as a running Web API has it)."""
    import random

    from proactif.registry import services as registry
    from proactif.rights import _openfisca as openfisca
    from proactif.rights import services as rights

    openfisca.tax_benefit_system()
    ids = [h for chunk in registry.household_ids_in_chunks(100_000) for h in chunk]
    sample = random.Random(3).sample(ids, min(count, len(ids)))
    started = time.monotonic()
    for household_id in sample:
        rights.compute_household(household_id, PERIOD)
    seconds = time.monotonic() - started
    return {"households": len(sample), "seconds": round(seconds, 2),
            "households_per_second": round(len(sample) / seconds, 3) if seconds else 0.0}


def quality(run_id: int) -> dict[str, Any]:
    from proactif.synth import services as synth

    return synth.detection_quality(run_id)
