"""Geo-targeting: the commune's address points held in memory as a grid-sorted index, selections by drawn
polygon, circle, street, quartier or list of addresses, and what a selection reaches — its residents and, per
channel, the contacts open for a purpose (consents and oppositions as they are now).

The index is built once per process from the registry (about 0.5 s per million addresses) and built again
when the registry's addresses change (a stamp: their count, greatest id and latest update, read at most every
few seconds); the map's layers derived from it (streets, the commune's outline) are kept with it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from proactif.geo import domain
from proactif.registry import services as registry

AreaError = domain.AreaError
Circle = domain.Circle
parse_area = domain.parse_area

STAMP_EVERY = 5.0  # seconds between two checks that the registry's addresses did not change

_lock = threading.Lock()
_cached: dict[str, Any] = {}  # stamp, checked_at, index, and the layers derived from it


def index() -> domain.PointIndex:
    """The address index, built again when the registry's addresses changed."""
    with _lock:
        now = time.monotonic()
        if not _cached or now - _cached["checked_at"] > STAMP_EVERY:
            stamp = registry.address_stamp()
            if not _cached or _cached["stamp"] != stamp:
                _cached.clear()
                _cached.update(stamp=stamp, index=domain.PointIndex(*registry.address_points()))
            _cached["checked_at"] = now
        return _cached["index"]  # type: ignore[no-any-return]


def _derived(name: str, build: Callable[[domain.PointIndex], Any]) -> Any:
    """A value computed from the current index, kept until the index is built again."""
    points = index()
    with _lock:
        if name not in _cached:
            _cached[name] = build(points)
        return _cached[name]


def forget_index() -> None:
    with _lock:
        _cached.clear()


@dataclass
class Target:
    """What an agent aims at: areas (GeoJSON polygons, circles), streets, quartiers, addresses — any mix."""

    areas: list[domain.Area] = field(default_factory=list)
    voie_ids: list[int] = field(default_factory=list)
    quartier_ids: list[int] = field(default_factory=list)
    address_ids: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, features: Sequence[dict[str, Any]] = (), voie_ids: Sequence[int] = (),
           quartier_ids: Sequence[int] = (), address_ids: Sequence[int] = ()) -> Target:
        """A target from GeoJSON features (each checked: AreaError) and ids."""
        return cls(areas=[a for f in features for a in domain.parse_area(f)], voie_ids=list(voie_ids),
                   quartier_ids=list(quartier_ids), address_ids=list(address_ids))

    def is_empty(self) -> bool:
        return not (self.areas or self.voie_ids or self.quartier_ids or self.address_ids)


def features_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A GeoJSON object as a list of features, each checked to be a selectable area (AreaError otherwise):
    what an incident keeps of the areas it was given."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection":
        features = list(data.get("features") or [])
    elif kind == "Feature":
        features = [data]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": data}]
    for feature in features:
        domain.parse_area(feature)
    if not features:
        raise domain.AreaError("la collection ne contient aucune zone")
    return features


def select_addresses(target: Target, points: domain.PointIndex | None = None) -> np.ndarray:
    """The address ids the target covers, sorted, each once."""
    points = points or index()
    parts = [points.address_ids(points.select(target.areas))] if target.areas else []
    if target.voie_ids:
        parts.append(points.address_ids(points.on_voies(target.voie_ids)))
    if target.quartier_ids:
        polygons = registry.quartier_polygons(target.quartier_ids)
        parts.append(points.address_ids(points.select(a for g in polygons.values() for a in domain.parse_area(g))))
    if target.address_ids:
        parts.append(np.intersect1d(np.asarray(target.address_ids, dtype=np.int64), points.ids))
    if not parts:
        return np.zeros(0, np.int64)
    return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))


@dataclass(frozen=True)
class Selection:
    address_ids: list[int]
    resident_ids: list[int]
    reachable: dict[str, int]  # channel → residents with an open contact on it for the purpose
    unreachable: int  # residents with no open channel (a letter needs a postal address)
    voies: list[tuple[int, str, int]]  # (voie id, name, addresses selected)

    def summary(self, with_ids: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"addresses": len(self.address_ids), "residents": len(self.resident_ids),
                               "reachable": self.reachable, "unreachable": self.unreachable,
                               "streets": [{"id": v, "nom": n, "addresses": c} for v, n, c in self.voies]}
        if with_ids:
            out["address_ids"] = self.address_ids
        return out


def select(target: Target, purpose: str = "alertes") -> Selection:
    points = index()
    addresses = select_addresses(target, points)
    people = registry.residents_at(addresses.tolist())
    reach = registry.reachable_channels(people, purpose)
    per_channel: Counter[str] = Counter(channel for channels in reach.values() for channel in channels)
    return Selection(addresses.tolist(), people, dict(sorted(per_channel.items())),
                     sum(1 for r in people if not reach.get(r)), streets_of(addresses, points))


def streets_of(addresses: np.ndarray, points: domain.PointIndex | None = None) -> list[tuple[int, str, int]]:
    """The streets of these addresses (ids the index holds): (voie id, name, addresses), by name."""
    points = points or index()
    voies, counts = np.unique(points.voies[points.positions_of(addresses)], return_counts=True)
    names = registry.voie_names(voies.tolist())
    return sorted(((v, names.get(v, ""), n) for v, n in zip(voies.tolist(), counts.tolist(), strict=True)),
                  key=lambda t: t[1])


def streets_matching(text: str, limit: int = 20) -> list[tuple[int, str]]:
    return registry.voies_matching(text, limit)


def layer_addresses() -> dict[str, Any]:
    """The address points for the map, as compact arrays (id, lon, lat) rather than a FeatureCollection."""
    return _derived("addresses", _addresses_layer)  # type: ignore[no-any-return]


def _addresses_layer(points: domain.PointIndex) -> dict[str, Any]:
    lon, lat = points.plane.to_lonlat(points.x, points.y)
    return {"ids": points.ids.tolist(), "lon": np.round(lon, 6).tolist(), "lat": np.round(lat, 6).tolist()}


def selection_hull(target: Target) -> dict[str, Any] | None:
    """The convex hull of the addresses a target selects, as a GeoJSON polygon (lon/lat): the area of a
    street or quartier selection where a shape is needed (CAP)."""
    import shapely

    points = index()
    addresses = select_addresses(target, points)
    if not len(addresses):
        return None
    positions = points.positions_of(addresses)
    lon, lat = points.plane.to_lonlat(points.x[positions], points.y[positions])
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([lon, lat])))
    if hull.geom_type != "Polygon":  # one address, or all on a line: a small buffer around them
        hull = domain.circle_polygon(domain.Circle(float(np.mean(lon)), float(np.mean(lat)), 30.0), points.plane) \
            if hull.geom_type == "Point" else shapely.buffer(hull, 0.0003)
    return shapely.geometry.mapping(hull)  # type: ignore[no-any-return]


PUBLIC_MIN_ADDRESSES = 5  # a published area covers at least this many address points when it can


def generalised(target: Target, min_addresses: int = PUBLIC_MIN_ADDRESSES) -> Target:
    """What may be published about a target (CAP, Atom): its addresses widened to their whole streets, and a
    street of fewer than `min_addresses` points to the quartier around it — an alert about one address must not
    point at a household. Drawn areas, streets and quartiers chosen as such stay as they are."""
    if not target.address_ids:
        return target
    points = index()
    known = np.intersect1d(np.asarray(target.address_ids, dtype=np.int64), points.ids)
    voies = set(target.voie_ids)
    quartiers = set(target.quartier_ids)
    if len(known):
        positions = points.positions_of(known)
        streets = set(points.voies[positions].tolist())
        around = _quartiers_at(*points.plane.to_lonlat(points.x[positions], points.y[positions])) \
            if len(points.on_voies(streets)) < min_addresses else set()
        if around:
            quartiers |= around
        else:
            voies |= streets
    return Target(list(target.areas), sorted(voies), sorted(quartiers), [])


def _quartiers_at(lon: np.ndarray, lat: np.ndarray) -> set[int]:
    import shapely
    from shapely.geometry import shape

    found: set[int] = set()
    for feature in registry.quartier_layer()["features"]:
        if feature.get("geometry") and shapely.contains_xy(shape(feature["geometry"]), lon, lat).any():
            found.add(int(feature["id"]))
    return found


def outline() -> dict[str, Any] | None:
    """The commune's outline: the union of its quartiers (GeoJSON, lon/lat), simplified for display."""
    return _derived("outline", lambda points: _outline())  # type: ignore[no-any-return]


def _outline() -> dict[str, Any] | None:
    import shapely
    from shapely.geometry import mapping, shape

    layer = registry.quartier_layer()
    shapes = [shape(f["geometry"]) for f in layer["features"] if f.get("geometry")]
    if not shapes:
        return None
    union = shapely.union_all(shapes).simplify(0.0001)
    return mapping(union)  # type: ignore[no-any-return]


def street_layer() -> dict[str, Any]:
    """Each street as a line through its address points, ordered along the street's main axis (the registry
    holds address points, not street centrelines): enough to see which streets a selection crosses."""
    return _derived("streets", _street_layer)  # type: ignore[no-any-return]


def _street_layer(points: domain.PointIndex) -> dict[str, Any]:
    lon, lat = points.plane.to_lonlat(points.x, points.y)
    names = registry.voie_names(sorted(set(points.voies.tolist())))
    order = np.argsort(points.voies, kind="stable")
    voies = points.voies[order]
    bounds = np.flatnonzero(np.diff(voies)) + 1
    features = []
    for group in np.split(order, bounds):
        if len(group) < 2:
            continue
        xy = np.column_stack([points.x[group], points.y[group]])
        centred = xy - xy.mean(axis=0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0]  # the direction of greatest spread
        ranked = group[np.argsort(centred @ axis)]
        voie = int(points.voies[group[0]])
        features.append({"type": "Feature", "properties": {"id": voie, "nom": names.get(voie, "")},
                         "geometry": {"type": "LineString", "coordinates": [
                             [round(float(lon[i]), 6), round(float(lat[i]), 6)] for i in ranked]}})
    return {"type": "FeatureCollection", "features": features}


def widen(feature: dict[str, Any], metres: float) -> dict[str, Any]:
    """A polygon feature widened by `metres` on the local plane (GeoJSON feature in lon/lat)."""
    import shapely
    from shapely.geometry import mapping

    polygon = domain.parse_area(feature)[0]
    if isinstance(polygon, domain.Circle):
        return {**feature, "properties": {**(feature.get("properties") or {}), "radius": polygon.radius_m + metres}}
    plane = index().plane
    widened = shapely.buffer(plane.project(polygon), metres)
    back = shapely.transform(widened, lambda c: np.column_stack(plane.to_lonlat(c[:, 0], c[:, 1])))
    return {"type": "Feature", "properties": {}, "geometry": mapping(back)}


def residents(target: Target) -> list[int]:
    """The active residents of the addresses a target selects (without their reach: what a send needs)."""
    return registry.residents_at(select_addresses(target).tolist())
