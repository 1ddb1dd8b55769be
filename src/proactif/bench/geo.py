"""`proactif bench geo`: selecting address points by quartier polygon and by circle, the in-memory grid index
(`proactif.geo`) side by side with PostGIS and a GiST index on the same points.

1,000,000 points are drawn uniformly (seeded) over the bounding box of Paris' 80 quartiers. Both sides work in
the same local plane in metres (`geo.domain.Plane`): PostGIS receives the projected points (SRID 0) and the
projected polygons, so `ST_Contains` and `ST_DWithin` answer the very question `contains_xy` and the distance
test answer — and the benchmark checks that the two return identical sets for every selection. Each side's
time is the median of 3 runs of each selection, ids returned to Python included. PostGIS is installed from
Debian (`postgresql-NN-postgis-3`) when the server lacks it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from proactif.bench.common import machine, postgres_server
from proactif.geo import domain
from proactif.kernel.config import reference_data_dir

POINTS = 1_000_000
CIRCLES = 40
REPEAT = 3
TARGET_MS = 10.0  # a quartier-sized selection on 1,000,000 addresses
TARGET_RATIO = 5.0
DATABASE = "proactif_bench_geo"


def run(residents: int | None = None) -> dict[str, Any]:
    count = residents or POINTS  # address points
    quartiers = [domain.parse_area(f)[0] for f in json.loads(
        (reference_data_dir() / "quartier_paris.geojson").read_text(encoding="utf-8"))["features"]]
    xmin, ymin, xmax, ymax = shapely.union_all(quartiers).bounds
    rng = np.random.default_rng(15)
    lon, lat = rng.uniform(xmin, xmax, count), rng.uniform(ymin, ymax, count)
    ids = np.arange(1, count + 1, dtype=np.int64)
    started = time.perf_counter()
    index = domain.PointIndex(ids, lon, lat)
    build_seconds = time.perf_counter() - started
    circles = [domain.Circle(float(x), float(y), float(r)) for x, y, r in zip(
        rng.uniform(xmin, xmax, CIRCLES), rng.uniform(ymin, ymax, CIRCLES), rng.uniform(100, 1500, CIRCLES),
        strict=True)]
    selections: list[tuple[str, domain.Area]] = [("quartier", q) for q in quartiers] + [("cercle", c) for c in circles]

    ours: dict[str, list[float]] = {"quartier": [], "cercle": []}
    found: list[np.ndarray] = []
    for kind, area in selections:
        times = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            selected = index.address_ids(index.select([area]))
            times.append(time.perf_counter() - t)
        ours[kind].append(float(np.median(times)))
        found.append(selected)

    conn = _postgis_database()
    try:
        load_seconds = _load(conn, index)
        theirs: dict[str, list[float]] = {"quartier": [], "cercle": []}
        mismatches = []
        for (kind, area), mine in zip(selections, found, strict=True):
            sql, params = _query(index.plane, area)
            times = []
            for _ in range(REPEAT):
                t = time.perf_counter()
                rows = conn.execute(sql, params).fetchall()
                times.append(time.perf_counter() - t)
            theirs[kind].append(float(np.median(times)))
            other = np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
            if not np.array_equal(mine, other):
                mismatches.append({"kind": kind, "ours": len(mine), "postgis": len(other),
                                   "only_ours": len(np.setdiff1d(mine, other)),
                                   "only_postgis": len(np.setdiff1d(other, mine))})
        version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    finally:
        conn.close()

    def figures(samples: list[float]) -> dict[str, float]:
        ms = np.asarray(samples) * 1000
        return {"median_ms": round(float(np.median(ms)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
                "max_ms": round(float(ms.max()), 3)}

    sizes = {kind: int(np.median([len(f) for (k, _), f in zip(selections, found, strict=True) if k == kind]))
             for kind in ours}
    ratio = {kind: round(float(np.median(theirs[kind]) / np.median(ours[kind])), 1) for kind in ours}
    quartier = figures(ours["quartier"])
    return {
        "benchmark": "geo", "points": count, "selections": {"quartiers": len(quartiers), "circles": len(circles)},
        "median_addresses_selected": sizes,
        "index": {"build_seconds": round(build_seconds, 3), "grid": [index.nx, index.ny],
                  "cell_m": round(index.cell, 1), "quartier": quartier, "cercle": figures(ours["cercle"])},
        "postgis": {"version": version, "load_and_index_seconds": round(load_seconds, 1),
                    "quartier": figures(theirs["quartier"]), "cercle": figures(theirs["cercle"])},
        "ratio_postgis_over_index": ratio, "identical_sets": not mismatches, "mismatches": mismatches[:10],
        "targets": {"quartier_ms": TARGET_MS, "ratio": TARGET_RATIO},
        "met": bool(not mismatches and quartier["p95_ms"] <= TARGET_MS and min(ratio.values()) >= TARGET_RATIO),
        "machine": machine()}


def _query(plane: domain.Plane, area: domain.Area) -> tuple[str, list[Any]]:
    if isinstance(area, domain.Circle):
        x, y = plane.to_xy(area.lon, area.lat)
        return ("SELECT id FROM points WHERE ST_DWithin(geom, ST_MakePoint(%s, %s), %s)",
                [float(x), float(y), area.radius_m])
    return "SELECT id FROM points WHERE ST_Contains(ST_GeomFromWKB(%s, 0), geom)", [shapely.to_wkb(plane.project(area))]


def _load(conn: Any, index: domain.PointIndex) -> float:
    started = time.perf_counter()
    conn.execute("DROP TABLE IF EXISTS points")
    conn.execute("CREATE UNLOGGED TABLE points (id bigint PRIMARY KEY, geom geometry(Point, 0) NOT NULL)")
    buffer = io.StringIO()
    for pk, x, y in zip(index.ids.tolist(), index.x.tolist(), index.y.tolist(), strict=True):
        buffer.write(f"{pk}\tPOINT({x!r} {y!r})\n")
    with conn.cursor() as cursor, cursor.copy("COPY points (id, geom) FROM STDIN") as copy:
        copy.write(buffer.getvalue())
    conn.execute("CREATE INDEX points_geom ON points USING gist (geom)")
    conn.execute("ANALYZE points")
    return time.perf_counter() - started


def _postgis_database() -> Any:
    import psycopg

    server = postgres_server().rstrip("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        available = admin.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
        if not available:
            major = int(admin.execute("SHOW server_version_num").fetchone()[0]) // 10000
            install_postgis(major)
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
    conn = psycopg.connect(f"{server}/{DATABASE}", autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return conn


def install_postgis(major: int) -> None:
    """PostGIS from Debian for the local server (the benchmark's set-up; root or sudo needed)."""
    package = f"postgresql-{major}-postgis-3"
    apt = shutil.which("apt-get")
    if apt is None:
        raise RuntimeError(f"PostGIS absent et apt-get introuvable : installez {package}")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = [[*prefix, apt, "update", "-qq"]] if not any(Path("/var/lib/apt/lists").glob("*Packages*")) else []
    commands.append([*prefix, apt, "install", "-y", "-qq", "--no-install-recommends", package])
    for command in commands:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} a échoué ({done.returncode}) :\n{done.stderr[-2000:]}")
