"""`proactif seed`: lay out a synthetic commune and fill the registry, chunk by chunk.

Generation runs in a child process while this one writes to the database (COPY on PostgreSQL,
executemany on SQLite), so the two cores work together and memory stays bounded by a few chunks.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction

from proactif.kernel import bulkload, clock
from proactif.kernel.config import env_opt, reference_data_dir
from proactif.kernel.logging import get_logger
from proactif.registry import services as registry
from proactif.synth import _geography as geography
from proactif.synth import _law as law
from proactif.synth._population import ChunkRows, Context, generate_task
from proactif.synth.models import Entitlement

log = get_logger(__name__)

LOAD_ORDER = ("household", "famille", "foyer", "person", "contact", "preference", "consent", "document",
              "resource", "benefit")
ENTITLEMENT_COLUMNS = ("household_id", "famille_id", "benefit", "eligible", "receiving", "monthly_amount",
                       "seeded_on")
PERSONS_PER_HOUSEHOLD = 2.13
HOUSEHOLDS_PER_ADDRESS = 7


class SeedError(Exception):
    pass


def quartiers_file() -> Path | None:
    configured = env_opt("PROACTIF_QUARTIERS_FILE", "GeoJSON of the quartiers the synthetic commune is laid "
                         "in (default: data/quartier_paris.geojson when present, else a fictional "
                         "commune).")
    path = Path(configured) if configured else reference_data_dir() / "quartier_paris.geojson"
    return path if path.is_file() else None


def _names() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    from faker.providers.person.fr_FR import Provider

    return tuple(Provider.last_names), tuple(Provider.first_names_female), tuple(Provider.first_names_male)


def seed(residents: int, seed_value: int = 1, *, reset: bool = False, duplicate_rate: float = 0.002,
         progress: Callable[[int, int], None] | None = None, parallel: bool = True) -> dict[str, Any]:
    if residents < 1:
        raise SeedError("le nombre d'habitants doit être positif")
    if reset:
        registry.delete_registry()
    elif not registry.is_empty():
        raise SeedError("le registre contient déjà des habitants ou des adresses : relancez avec --reset pour "
                        "le remplacer")
    started = time.monotonic()
    now = clock.now()
    today = clock.today()
    surnames, first_f, first_m = _names()
    specs, source = geography.load_quartiers(quartiers_file())
    n_addresses = max(10, math.ceil(residents / PERSONS_PER_HOUSEHOLD / HOUSEHOLDS_PER_ADDRESS))
    now_text = bulkload.datetime_text(now)
    geo = geography.lay_out(specs, n_addresses, seed_value, surnames, first_m, now_text)
    with transaction.atomic():
        registry.load_quartiers(geography.quartier_features(specs))
        quartier_ids = dict(registry.quartiers().values_list("code", "id"))
        registry.bulk_load("voie", geo.voies)
        registry.bulk_load("address", [(*row[:11], quartier_ids[specs[row[11] - 1].code], *row[12:])
                                       for row in geo.address_rows])
    codes = tuple(str(row[7]) for row in geo.address_rows)
    ctx = Context(seed=seed_value, today=today, now=now, address_ids=geo.address_ids, surnames=surnames,
                  first_names_f=first_f, first_names_m=first_m, postgres=bulkload.vendor() == "postgresql",
                  law=law.read(today, tuple(sorted(set(codes)))), address_codes=codes,
                  duplicate_rate=duplicate_rate)
    totals: dict[str, int] = dict.fromkeys(LOAD_ORDER, 0)
    truth: dict[str, dict[str, int]] = {}
    nirs: set[str] = set()
    done = 0
    with registry.bulk_deferred_indexes():
        for rows in _produce(ctx, residents, parallel):
            with transaction.atomic():
                for kind in LOAD_ORDER:
                    batch = rows.rows.get(kind, [])
                    if kind == "person":
                        batch = _unique_nirs(batch, nirs)
                        done += sum(1 for row in batch if row[17] == "synth")
                    totals[kind] += registry.bulk_load(kind, batch)
                bulkload.load_rows(Entitlement._meta.db_table, ENTITLEMENT_COLUMNS, rows.rows.get("entitlement", []))
            for benefit, entry in rows.truth.items():
                for key, value in entry.items():
                    truth.setdefault(benefit, {"eligible": 0, "receiving": 0})[key] += value
            if progress:
                progress(done, residents)
    registry.bulk_finish()
    from proactif.watch import services as watch

    register = watch.seed(seed_value)
    elapsed = time.monotonic() - started
    rows_written = sum(totals.values()) + len(geo.voies) + len(geo.address_rows)
    figures = {
        "residents": done, "seed": seed_value, "as_of": today.isoformat(), "quartiers": len(specs),
        "quartiers_source": source, "voies": len(geo.voies), "addresses": len(geo.address_rows),
        "rows": {"households": totals["household"], "familles": totals["famille"],
                 "foyers_fiscaux": totals["foyer"], "persons": totals["person"],
                 "duplicate_records": totals["person"] - done, "contacts": totals["contact"],
                 "preferences": totals["preference"], "consents": totals["consent"],
                 "documents": totals["document"], "resources": totals["resource"], "benefits": totals["benefit"]},
        "non_recours": {b: {**v, "not_claiming_share": round(1 - v["receiving"] / v["eligible"], 3)
                            if v["eligible"] else 0.0} for b, v in sorted(truth.items())},
        "register_of_vulnerable_people": register,
        "seconds": round(elapsed, 2),
        "rows_per_second": round(rows_written / elapsed) if elapsed else None,
        "database": bulkload.vendor(),
    }
    log.info("synthetic commune seeded", residents=done, seconds=figures["seconds"])
    return figures


def _produce(ctx: Context, residents: int, parallel: bool) -> Iterator[ChunkRows]:
    """Chunks in order. In parallel mode a child process generates chunk k+1 while chunk k is written."""
    remaining = residents
    chunk = 0
    if not parallel:
        while remaining > 0:
            rows = generate_task((ctx, chunk, remaining))
            remaining -= _residents_in(rows)
            chunk += 1
            yield rows
        return
    window = 2  # chunks generated ahead: bounds memory whatever the speed of the database
    # spawn, not fork: the parent holds database connections and threads a forked child would inherit.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        # Chunks are independent; only the last one needs to know how many residents remain, so
        # full chunks are generated ahead and the tail is regenerated to size once it is known.
        ahead = [pool.apply_async(generate_task, ((ctx, k, residents),)) for k in range(window)]
        while remaining > 0:
            rows = ahead.pop(0).get()
            ahead.append(pool.apply_async(generate_task, ((ctx, chunk + window, residents),)))
            produced = _residents_in(rows)
            if produced >= remaining:
                rows = generate_task((ctx, chunk, remaining)) if produced > remaining else rows
                remaining = 0
            else:
                remaining -= produced
            chunk += 1
            yield rows
        pool.terminate()


def _residents_in(rows: ChunkRows) -> int:
    return sum(1 for row in rows.rows.get("person", []) if row[17] == "synth")


def _unique_nirs(rows: list[tuple[Any, ...]], seen: set[str]) -> list[tuple[Any, ...]]:
    """Drawn NIRs can collide (same sex, birth month, place and order number): keep the first."""
    out = []
    for row in rows:
        nir = row[8]
        if nir is not None:
            if nir in seen:
                row = (*row[:8], None, *row[9:])
            else:
                seen.add(nir)
        out.append(row)
    return out


def pyramid_shares(figures_today: date | None = None) -> dict[str, float]:
    """Share of active residents by the bands of the INSEE reference (for checks and the docs)."""
    from proactif.synth.domain import INSEE_PYRAMID

    today = figures_today or clock.today()
    ages = registry.active_ages(today)
    total = len(ages) or 1
    return {f"{low}-{high}": round(sum(1 for a in ages if low <= a <= high) / total, 4)
            for (low, high) in INSEE_PYRAMID}


def detection_quality(run_id: int) -> dict[str, dict[str, Any]]:
    """A screening run against the generator's ground truth, per national benefit, over the households screened:
    how often the legislation the generator applies and OpenFisca agree on who is eligible, and the precision and
    recall of detection — a detection is right when the household is eligible and does not receive the benefit.
    (Detection also asks for two stable months, an amount above the floor and no opposition: recall counts those
    households as missed.)"""
    from proactif.rights import services as rights

    run = rights.get_run(run_id)
    truth: dict[tuple[int, str], bool] = {}  # (household, benefit) → receiving; present when eligible
    for household, benefit, receiving in Entitlement.objects.values_list("household_id", "benefit", "receiving"):
        truth[(household, benefit)] = truth.get((household, benefit), False) or receiving
    counts: dict[str, dict[str, int]] = {}
    for household, benefit, eligible, _receiving, detected, _amount in rights.export_rows(run):
        if benefit not in rights.BENEFITS:
            continue  # local aids: the generator does not decide them
        c = counts.setdefault(benefit, dict.fromkeys(("households", "synth_eligible", "openfisca_eligible", "agree",
                                                      "owed", "detected", "right"), 0))
        known = (household, benefit) in truth
        owed = known and not truth[(household, benefit)]
        c["households"] += 1
        c["synth_eligible"] += known
        c["openfisca_eligible"] += bool(eligible)
        c["agree"] += known == bool(eligible)
        c["owed"] += owed
        c["detected"] += bool(detected)
        c["right"] += bool(detected) and owed
    return {benefit: {"households": c["households"], "synth_eligible": c["synth_eligible"],
                      "openfisca_eligible": c["openfisca_eligible"],
                      "eligibility_agreement": round(c["agree"] / c["households"], 3) if c["households"] else None,
                      "owed_not_received": c["owed"], "detected": c["detected"], "detected_and_owed": c["right"],
                      "precision": round(c["right"] / c["detected"], 3) if c["detected"] else None,
                      "recall": round(c["right"] / c["owed"], 3) if c["owed"] else None}
            for benefit, c in counts.items()}
