"""Address points as arrays, selected by area — pure: numpy and shapely, no Django, no I/O.

Points are kept in a local plane in metres (an equirectangular projection centred on the commune: at a
commune's scale its distances are within 0.1 % of the geodesic ones), sorted by the cell of a regular grid
they fall in. A selection reads only the cells its area's bounding box overlaps (each grid row's cells are
one contiguous slice of the sorted arrays), takes whole the cells lying inside a polygon, and tests the
points of the cells its edge crosses with `shapely.contains_xy`. Circles are tested by distance on the same
plane. The same plane is what `bench geo` gives PostGIS, so both answer the same question.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
MAX_RADIUS_M = 100_000.0  # a circle wider than a département is a mistake, not a target
TARGET_PER_CELL = 64  # points per grid cell on average: small cells for small areas, few slices for large ones


class AreaError(ValueError):
    """An area that cannot be selected with (not a polygon or circle, or invalid)."""


@dataclass(frozen=True)
class Plane:
    """The local plane: (lon, lat) in degrees ↔ (x, y) in metres around (lon0, lat0)."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))

    @property
    def ky(self) -> float:
        return math.radians(1) * EARTH_RADIUS_M

    def to_xy(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        x = (np.asarray(lon, dtype=float) - self.lon0) * self.kx
        return x, (np.asarray(lat, dtype=float) - self.lat0) * self.ky

    def to_lonlat(self, x: Any, y: Any) -> tuple[Any, Any]:
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0

    def project(self, geometry: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geometry, lambda coords: np.column_stack(self.to_xy(coords[:, 0], coords[:, 1])))


@dataclass(frozen=True)
class Circle:
    lon: float
    lat: float
    radius_m: float


type Area = BaseGeometry | Circle  # a (multi)polygon in lon/lat, or a circle


def parse_area(data: dict[str, Any]) -> list[Area]:
    """The areas of a GeoJSON object: a Polygon or MultiPolygon geometry, a Feature, or a FeatureCollection of
    them; a Point feature with a `radius` property (metres) is a circle — the form terra-draw and Leaflet use."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection":
        features = data.get("features") or []
        if not features or not isinstance(features, list):
            raise AreaError("la collection ne contient aucune zone")
        if any(isinstance(f, dict) and f.get("type") == "FeatureCollection" for f in features):
            raise AreaError("une collection contient des zones (Feature), pas d'autres collections")
        return [area for feature in features for area in parse_area(feature)]
    if kind == "Feature":
        geometry = data.get("geometry") or {}
        properties = data.get("properties") or {}
        if not isinstance(geometry, dict) or not isinstance(properties, dict):
            raise AreaError("une zone (Feature) a une géométrie et des propriétés qui sont des objets")
        if geometry.get("type") == "Point":
            lon, lat = _lonlat(geometry.get("coordinates"))
            return [Circle(lon, lat, _radius(properties.get("radius")))]
        if geometry.get("type") in ("Feature", "FeatureCollection"):  # GeoJSON nests no further
            raise AreaError("la géométrie d'une zone est un Polygon, un MultiPolygon ou un Point")
        return parse_area(geometry)
    if kind in ("Polygon", "MultiPolygon"):
        try:
            polygon = shape(data)
        except (ValueError, TypeError, IndexError, AttributeError, KeyError, OverflowError,
                ShapelyError) as exc:
            raise AreaError(f"polygone illisible : {exc}") from None
        if polygon.is_empty:
            raise AreaError("polygone vide")
        polygon = shapely.force_2d(polygon)  # an altitude (3-D coordinates) says nothing about who lives there
        for x, y in _outer_coords(polygon):
            _lonlat([x, y])
        if not polygon.is_valid:
            polygon = shapely.make_valid(polygon)  # a drawn area crossing itself: its valid parts
            polygon = shapely.union_all([g for g in getattr(polygon, "geoms", [polygon])
                                         if g.geom_type in ("Polygon", "MultiPolygon")])
            if polygon.is_empty:
                raise AreaError("polygone sans surface")
        return [polygon]
    raise AreaError(f"type de zone non pris en charge : {kind!r} (Polygon, MultiPolygon, ou Point avec un rayon)")


def _radius(value: Any) -> float:
    """A circle's radius in metres: a finite number above 0 and at most MAX_RADIUS_M."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AreaError("un point doit avoir un rayon positif en mètres (propriété « radius »)")
    if isinstance(value, int) and abs(value) > MAX_RADIUS_M:  # an int may be too large for a float
        value = math.inf if value > 0 else -math.inf
    radius = float(value)
    if math.isnan(radius) or radius <= 0:
        raise AreaError("un point doit avoir un rayon positif en mètres (propriété « radius »)")
    if radius > MAX_RADIUS_M:
        raise AreaError(f"rayon trop grand : au plus {MAX_RADIUS_M:,.0f} m".replace(",", " "))
    return radius


def _outer_coords(polygon: BaseGeometry) -> Iterable[tuple[float, float]]:
    for part in getattr(polygon, "geoms", [polygon]):
        yield from part.exterior.coords


def _lonlat(coordinates: Any) -> tuple[float, float]:
    try:
        lon, lat = float(coordinates[0]), float(coordinates[1])
    except (TypeError, ValueError, IndexError, KeyError, OverflowError):
        raise AreaError(f"coordonnées illisibles : {coordinates!r:.100}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise AreaError(f"coordonnées hors de la Terre (longitude, latitude) : {lon}, {lat}")
    return lon, lat


class PointIndex:
    """Address points `ids` at (`lon`, `lat`), each with its voie, sorted by grid cell."""

    def __init__(self, ids: Sequence[int] | np.ndarray, lon: Sequence[float] | np.ndarray,
                 lat: Sequence[float] | np.ndarray, voies: Sequence[int] | np.ndarray | None = None,
                 plane: Plane | None = None):
        lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        ids_a = np.asarray(ids, dtype=np.int64)
        if len(ids_a):
            self.plane = plane or Plane(float(np.median(lon_a)), float(np.median(lat_a)))
        else:
            self.plane = plane or Plane(2.35, 48.85)
        x, y = self.plane.to_xy(lon_a, lat_a)
        self.count = len(ids_a)
        self.x0, self.y0 = (float(x.min()), float(y.min())) if self.count else (0.0, 0.0)
        width = float(x.max()) - self.x0 if self.count else 1.0
        height = float(y.max()) - self.y0 if self.count else 1.0
        cells = max(1, self.count // TARGET_PER_CELL)
        self.cell = max(1.0, math.sqrt(max(width * height, 1.0) / cells))  # square cells, metres
        self.nx, self.ny = int(width // self.cell) + 1, int(height // self.cell) + 1
        col, row = self._col(x), self._row(y)
        key = row * self.nx + col
        order = np.argsort(key, kind="stable")
        self.ids, self.x, self.y, key = ids_a[order], x[order], y[order], key[order]
        self.voies = np.asarray(voies, dtype=np.int64)[order] if voies is not None else np.zeros(0, np.int64)
        self.by_id = np.argsort(self.ids)  # positions in id order: from address ids back to positions
        self.starts = np.searchsorted(key, np.arange(self.nx * self.ny + 1))  # cell k: starts[k]:starts[k+1]

    def _col(self, x: Any) -> Any:
        return np.clip(((np.asarray(x) - self.x0) // self.cell).astype(np.int64), 0, self.nx - 1)

    def _row(self, y: Any) -> Any:
        return np.clip(((np.asarray(y) - self.y0) // self.cell).astype(np.int64), 0, self.ny - 1)

    def _cells_in_box(self, xmin: float, ymin: float, xmax: float, ymax: float) -> tuple[int, int, int, int] | None:
        if not self.count or xmax < self.x0 or ymax < self.y0:
            return None
        if xmin > self.x0 + self.nx * self.cell or ymin > self.y0 + self.ny * self.cell:
            return None
        return int(self._col(xmin)), int(self._col(xmax)), int(self._row(ymin)), int(self._row(ymax))

    def _candidates(self, box: tuple[int, int, int, int]) -> np.ndarray:
        c0, c1, r0, r1 = box
        rows = np.arange(r0, r1 + 1)
        begins, ends = self.starts[rows * self.nx + c0], self.starts[rows * self.nx + c1 + 1]
        return _ranges(begins, ends)

    # --- selections: positions in the sorted arrays ---------------------------------------------
    def within_polygon(self, polygon: BaseGeometry) -> np.ndarray:
        planar = self.plane.project(polygon)
        box = self._cells_in_box(*planar.bounds)
        if box is None:
            return np.zeros(0, np.int64)
        c0, c1, r0, r1 = box
        # cells wholly inside take all their points; cells on the edge have theirs tested one by one
        cols, rows = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
        cols, rows = cols.ravel(), rows.ravel()
        keys = rows * self.nx + cols
        filled = self.starts[keys + 1] > self.starts[keys]
        cols, rows, keys = cols[filled], rows[filled], keys[filled]
        if not len(keys):
            return np.zeros(0, np.int64)
        left, bottom = self.x0 + cols * self.cell, self.y0 + rows * self.cell
        boxes = shapely.box(left, bottom, left + self.cell, bottom + self.cell)
        shapely.prepare(planar)
        inside = shapely.contains_properly(planar, boxes) if len(keys) > 4 else np.zeros(len(keys), bool)
        whole = _ranges(self.starts[keys[inside]], self.starts[keys[inside] + 1])
        edge = _ranges(self.starts[keys[~inside]], self.starts[keys[~inside] + 1])
        tested = edge[shapely.contains_xy(planar, self.x[edge], self.y[edge])] if len(edge) else edge
        return np.sort(np.concatenate([whole, tested]))

    def within_circle(self, circle: Circle) -> np.ndarray:
        cx, cy = self.plane.to_xy(circle.lon, circle.lat)
        cx, cy, r = float(cx), float(cy), circle.radius_m
        box = self._cells_in_box(cx - r, cy - r, cx + r, cy + r)
        if box is None:
            return np.zeros(0, np.int64)
        candidates = self._candidates(box)
        dx, dy = self.x[candidates] - cx, self.y[candidates] - cy
        return np.sort(candidates[dx * dx + dy * dy <= r * r])

    def on_voies(self, voie_ids: Iterable[int]) -> np.ndarray:
        return np.flatnonzero(np.isin(self.voies, np.fromiter(voie_ids, dtype=np.int64)))

    def select(self, areas: Iterable[Area]) -> np.ndarray:
        """Positions of the points inside any of the areas (each once, in index order)."""
        parts = [self.within_circle(a) if isinstance(a, Circle) else self.within_polygon(a) for a in areas]
        if not parts:
            return np.zeros(0, np.int64)
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def address_ids(self, positions: np.ndarray) -> np.ndarray:
        return np.sort(self.ids[positions])

    def positions_of(self, address_ids: np.ndarray) -> np.ndarray:
        """The positions of these address ids (each one of the index's)."""
        return self.by_id[np.searchsorted(self.ids[self.by_id], address_ids)]


def _ranges(begins: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of `arange(b, e)` for each pair, without a Python loop."""
    lengths = ends - begins
    keep = lengths > 0
    begins, lengths = begins[keep], lengths[keep]
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    offsets = np.repeat(begins - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    out: np.ndarray = np.arange(total, dtype=np.int64) + offsets
    return out


def circle_polygon(circle: Circle, plane: Plane, segments: int = 64) -> BaseGeometry:
    """A circle as a polygon in lon/lat (for CAP's `<circle>` companions and map display)."""
    cx, cy = plane.to_xy(circle.lon, circle.lat)
    disc = shapely.Point(float(cx), float(cy)).buffer(circle.radius_m, quad_segs=max(4, segments // 4))
    return shapely.transform(disc, lambda c: np.column_stack(plane.to_lonlat(c[:, 0], c[:, 1])))
