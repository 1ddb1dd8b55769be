"""Streets and address points laid inside real quartier polygons.

Quartiers come from a GeoJSON file (the 80 quartiers of Paris by default); without one, a
fictional commune is drawn and split into Voronoi quartiers. In each quartier, streets are
straight lines through a random interior point, clipped to the polygon; numbers run along each
street, odd on one side and even on the other, a few metres off the centre line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon, mapping, shape

from proactif.kernel.text import search_key
from proactif.synth import domain

METRES_PER_DEG_LAT = 111_320.0


@dataclass
class QuartierSpec:
    id: int
    code: str
    nom: str
    code_insee: str
    code_postal: str
    commune: str
    polygon: Polygon


@dataclass
class Geography:
    quartiers: list[QuartierSpec]
    voies: list[tuple[int, str, str, str]]  # id, code_insee, nom, cle
    # address columns as arrays (index = position in the address list)
    address_ids: np.ndarray
    address_rows: list[tuple[Any, ...]]
    source: str


def load_quartiers(path: Path | None) -> tuple[list[QuartierSpec], str]:
    if path is not None and path.is_file():
        features = json.loads(path.read_text())["features"]
        specs = []
        for i, feature in enumerate(sorted(features, key=lambda f: int(f["properties"].get("c_qu", 0)))):
            props = feature["properties"]
            arrondissement = int(props.get("c_ar", 0))
            code_insee = f"751{arrondissement:02d}" if arrondissement else "75056"
            polygon = shape(feature["geometry"])
            if polygon.geom_type == "MultiPolygon":
                polygon = max(polygon.geoms, key=lambda g: g.area)
            specs.append(QuartierSpec(i + 1, str(props.get("c_quinsee") or props.get("c_qu")),
                                      str(props.get("l_qu", f"Quartier {i + 1}")), code_insee,
                                      f"750{arrondissement:02d}" if arrondissement else "75000", "Paris", polygon))
        return specs, f"{path.name} (Ville de Paris, ODbL)"
    return fictional_quartiers(), "commune fictive (quartiers de Voronoï)"


def fictional_quartiers(count: int = 12) -> list[QuartierSpec]:
    """A fictional commune of about 6 km × 4 km in Burgundy, split into `count` Voronoi quartiers."""
    rng = np.random.default_rng(20240601)
    centre_lon, centre_lat = 4.85, 47.32
    angles = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    radii = 1 + 0.12 * np.sin(3 * angles) + 0.05 * rng.standard_normal(48)
    outline = Polygon([(centre_lon + 0.04 * r * math.cos(a), centre_lat + 0.018 * r * math.sin(a))
                       for a, r in zip(angles, radii, strict=True)]).buffer(0)
    seeds = MultiPoint([(centre_lon + rng.uniform(-0.035, 0.035), centre_lat + rng.uniform(-0.015, 0.015))
                        for _ in range(count)])
    cells = shapely.voronoi_polygons(seeds, extend_to=outline.buffer(0.05))
    names = ("Centre-Ville", "Les Tilleuls", "La Gare", "Le Moulin", "Les Coteaux", "Saint-Martin", "Les Prés",
             "Le Port", "La Fontaine", "Les Vignes", "Le Château", "Les Hauts")
    specs = []
    for i, cell in enumerate(sorted(cells.geoms, key=lambda g: (round(g.centroid.y, 3), g.centroid.x))):
        piece = cell.intersection(outline)
        if piece.geom_type == "MultiPolygon":
            piece = max(piece.geoms, key=lambda g: g.area)
        specs.append(QuartierSpec(i + 1, f"Q{i + 1:02d}", names[i % len(names)], "21999", "21999", "Belleroche",
                                  piece))
    return specs


def quartier_features(specs: list[QuartierSpec]) -> list[dict[str, Any]]:
    return [{"type": "Feature", "properties": {"code": q.code, "nom": q.nom, "code_insee": q.code_insee,
                                               "code_postal": q.code_postal},
             "geometry": mapping(q.polygon)} for q in specs]


def _street_name(rng: np.random.Generator, surnames: tuple[str, ...], first_names: tuple[str, ...]) -> str:
    kinds = [t for t, _ in domain.STREET_TYPES]
    weights = np.array([w for _, w in domain.STREET_TYPES])
    kind = kinds[rng.choice(len(kinds), p=weights / weights.sum())]
    style = rng.random()
    if style < 0.4:
        name = domain.STREET_THEMES[rng.integers(len(domain.STREET_THEMES))]
    elif style < 0.75:
        name = f"{first_names[rng.integers(len(first_names))]} {surnames[rng.integers(len(surnames))]}"
    else:
        name = surnames[rng.integers(len(surnames))]
    return f"{kind} {name}"


def _street_through(polygon: Polygon, rng: np.random.Generator) -> LineString | None:
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(30):
        point = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.contains(point):
            break
    else:
        point = polygon.representative_point()
    angle = rng.uniform(0, math.pi)
    span = max(maxx - minx, maxy - miny) * 2
    cos_lat = math.cos(math.radians(point.y))
    line = LineString([(point.x - span * math.cos(angle) / cos_lat, point.y - span * math.sin(angle)),
                       (point.x + span * math.cos(angle) / cos_lat, point.y + span * math.sin(angle))])
    clipped = line.intersection(polygon.buffer(-0.0002) if polygon.area > 1e-6 else polygon)
    if clipped.is_empty:
        return None
    if clipped.geom_type == "MultiLineString":
        clipped = max(clipped.geoms, key=lambda g: g.length)
    return clipped if clipped.geom_type == "LineString" and clipped.length > 0 else None


def lay_out(specs: list[QuartierSpec], n_addresses: int, seed: int, surnames: tuple[str, ...],
            first_names: tuple[str, ...], updated_at: str, per_street: int = 30) -> Geography:
    """Streets and `n_addresses` address points spread over the quartiers in proportion to their area."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    areas = np.array([q.polygon.area for q in specs])
    quotas = np.maximum(1, np.round(n_addresses * areas / areas.sum())).astype(int)
    voies: list[tuple[int, str, str, str]] = []
    rows: list[tuple[Any, ...]] = []
    taken: set[tuple[str, str]] = set()
    for q, quota in zip(specs, quotas, strict=True):
        remaining = int(quota)
        while remaining > 0:
            line = _street_through(q.polygon, rng)
            if line is None:
                continue
            name = _street_name(rng, surnames, first_names)
            key = search_key(name)
            while (q.code_insee, key) in taken:
                name = f"{name} {'prolongée' if not name.endswith('prolongée') else 'bis'}"
                key = search_key(name)
            taken.add((q.code_insee, key))
            voie_id = len(voies) + 1
            voies.append((voie_id, q.code_insee, name, key))
            count = min(remaining, int(rng.integers(per_street // 2, per_street * 3 // 2 + 1)))
            remaining -= count
            rows.extend(_numbers_along(line, count, voie_id, q, rng, updated_at, len(rows)))
    ids = np.arange(1, len(rows) + 1)
    return Geography(specs, voies, ids, rows, "")


def _numbers_along(line: LineString, count: int, voie_id: int, q: QuartierSpec, rng: np.random.Generator,
                   updated_at: str, offset: int) -> list[tuple[Any, ...]]:
    rows = []
    per_side = (count + 1) // 2
    cos_lat = math.cos(math.radians(line.centroid.y))
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    dx, dy = (x1 - x0) * cos_lat, (y1 - y0)
    norm = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / norm, dx / norm  # unit normal in metric space
    for k in range(count):
        side = k % 2  # 0: odd numbers, 1: even numbers
        rank = k // 2
        numero = 2 * rank + 1 + side
        point = line.interpolate((rank + 0.5) / per_side, normalized=True)
        metres = 8.0 * (1 if side == 0 else -1)
        lon = point.x + nx * metres / (METRES_PER_DEG_LAT * cos_lat) + rng.normal(0, 1.5e-6)
        lat = point.y + ny * metres / METRES_PER_DEG_LAT + rng.normal(0, 1.5e-6)
        suffixe = "bis" if rng.random() < 0.02 else ""
        address_id = offset + len(rows) + 1
        cle = f"{q.code_insee.lower()}_{voie_id:04x}_{numero:05d}{'_bis' if suffixe else ''}"
        rows.append((address_id, cle, voie_id, numero, suffixe, "", q.code_postal, q.code_insee, q.commune,
                     round(lon, 7), round(lat, 7), q.id, "synth", updated_at))
    return rows
