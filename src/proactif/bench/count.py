"""`proactif bench count`: the alerts map's live count on a 2,100,000-resident commune, as the agent's browser
asks it while drawing (`POST /alertes/compter/`, the view and its JSON), for drawn areas from a thousand to a
quarter of a million residents.

1. **table** — the first count builds the address index and the commune's table of reach profiles
   (`alerts._reach`): measured apart (`cold_seconds`), as a server pays it once, then again in the background;
2. **count** — circles of growing radius around seeded address points, sized (by bisection on the count
   itself) to hold about 1,000, 10,000, 30,000, 60,000, 100,000, 150,000 and 250,000 residents, two centres
   each, and the four most populous quartiers drawn as polygons; every area counted `REPEAT` times through the
   Django test client, logged in as a police agent. p50/p95/max over the areas of at least 100,000 residents
   (the target: p95 ≤ 1 s) and over all;
3. **reference** — the naive method, in the same run: the send's rules asked resident by resident
   (`reach_exact`: the residents of the area, then `messaging.plan`, what the outbox decides at send time) on
   the large areas; its figures must be identical to the count's. Beside it, **previous**: what the view did
   before (`geo.select`, each resident's open channels — slower still, and wrong: it counted the letter).
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import numpy as np

from proactif.bench.common import machine, run_measured, seeded_database

RESIDENTS = 2_100_000
SIZES = (1_000, 10_000, 30_000, 60_000, 100_000, 150_000, 250_000)
CENTRES = 2
REPEAT = 5
LARGE = 100_000
REFERENCE_AREAS = 3
TARGET_P95_MS = 1000.0
TYPE = "coupure_electricite"


def run(residents: int | None = None, database: str = "sqlite") -> dict[str, Any]:
    residents = residents or RESIDENTS
    db = seeded_database(database, f"count-{database}", residents, seed=4)
    measured = run_measured(["bench-probe", "count-live"], db)
    probe = measured.output
    return {"benchmark": "count", "database": db.label, "residents": residents, **probe,
            "peak_rss_mb": measured.peak_rss_mb, "target_p95_ms": TARGET_P95_MS,
            "met": probe["large"]["p95_ms"] <= TARGET_P95_MS and probe["reference"]["identical"],
            "machine": machine()}


def _figures(samples: list[float]) -> dict[str, Any]:
    ms = np.asarray(samples) * 1000
    return {"calls": len(samples), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1)}


def _circle(lon: float, lat: float, radius: float) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"radius": radius},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _areas(points: Any) -> list[tuple[str, dict[str, Any], int]]:
    """(label, GeoJSON feature, residents) — circles sized by bisection, and the most populous quartiers."""
    from proactif.alerts import _reach as reach
    from proactif.geo import services as geo
    from proactif.registry import services as registry

    def residents(feature: dict[str, Any]) -> int:
        return reach.reach(geo.Target.of([feature]), TYPE).residents

    rng = np.random.default_rng(16)
    lon, lat = points.plane.to_lonlat(points.x, points.y)
    out = []
    for size in SIZES:
        for _ in range(CENTRES):
            i = int(rng.integers(len(points.ids)))
            low, high = 10.0, 20_000.0
            for _ in range(22):
                middle = (low + high) / 2
                if residents(_circle(float(lon[i]), float(lat[i]), middle)) < size:
                    low = middle
                else:
                    high = middle
            feature = _circle(float(lon[i]), float(lat[i]), round(high, 1))
            out.append((f"cercle {size}", feature, residents(feature)))
    quartiers = [{"type": "Feature", "properties": {}, "geometry": f["geometry"]}
                 for f in registry.quartier_layer()["features"] if f.get("geometry")]
    sized = sorted(((residents(q), q) for q in quartiers), key=lambda t: -t[0])[:4]
    out += [("quartier", q, n) for n, q in sized]
    return out


def probe() -> dict[str, Any]:
    """Runs inside the child process (`proactif bench-probe count-live`)."""
    from django.test import Client

    from proactif.accounts import services as accounts
    from proactif.alerts import _reach as reach
    from proactif.geo import services as geo

    email = "bench.count@proactif.local"
    agent = accounts.find_agent_by_email(email) or accounts.create_agent(email, None, service="police_municipale")
    client = Client()
    client.force_login(agent)

    def count(feature: dict[str, Any]) -> dict[str, Any]:
        response = client.post("/alertes/compter/", json.dumps({
            "areas": {"type": "FeatureCollection", "features": [feature]}, "type": TYPE}),
            content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        return response.json()  # type: ignore[no-any-return]

    started = time.perf_counter()
    points = geo.index()
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    lon, lat = points.plane.to_lonlat(points.x[:1], points.y[:1])
    first = count(_circle(float(lon[0]), float(lat[0]), 100.0))
    cold_seconds = time.perf_counter() - started
    areas = _areas(points)

    timings: list[tuple[str, int, float]] = []
    answers: dict[int, dict[str, Any]] = {}
    for number, (label, feature, _) in enumerate(areas):
        for _ in range(REPEAT):
            started = time.perf_counter()
            answers[number] = count(feature)
            timings.append((label, answers[number]["residents"], time.perf_counter() - started))
    large = [t for _, n, t in timings if n >= LARGE]

    # the naive method on the large areas: the send's rules, resident by resident — the same figures
    chosen = [i for i, (_, _, n) in enumerate(areas) if n >= LARGE][:REFERENCE_AREAS]
    reference, identical = [], True
    for i in chosen:
        started = time.perf_counter()
        exact = reach.reach_exact(geo.Target.of([areas[i][1]]), TYPE).summary()
        reference.append(time.perf_counter() - started)
        identical &= exact == answers[i]
    started = time.perf_counter()
    geo.select(geo.Target.of([areas[chosen[0]][1]]), "alertes")
    previous = time.perf_counter() - started
    fast_median = statistics.median([t for label, n, t in timings if n >= LARGE]) if large else float("nan")
    table = reach._state.get("table")
    return {
        "addresses": len(points.ids), "index_seconds": round(index_seconds, 2),
        "cold_seconds": round(cold_seconds, 2), "first_area_residents": first["residents"],
        "table": {"profiles": len(table.profiles) if table else None,
                  "build_seconds": round(table.seconds, 2) if table else None},
        "areas": [{"area": label, "residents": n, "radius_m": f["properties"].get("radius")} for label, f, n in areas],
        "large": {"min_residents": LARGE, "areas": sum(1 for *_, n in areas if n >= LARGE), **_figures(large)},
        "all": {"areas": len(areas), **_figures([t for *_, t in timings])},
        "reference": {"method": "the send's rules resident by resident (reach_exact: residents, then "
                                "messaging.plan), same areas", "areas": len(chosen),
                      "residents": [areas[i][2] for i in chosen],
                      "median_s": round(statistics.median(reference), 2), "identical": identical},
        "previous": {"method": "the view before issue 16 (geo.select: each resident's open channels, letter "
                               "included)", "residents": areas[chosen[0]][2], "seconds": round(previous, 2)},
        "ratio_reference_over_count_median": round(statistics.median(reference) / fast_median, 1),
    }
