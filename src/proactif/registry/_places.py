"""Where people live, as the geo-targeting reads it: address points as arrays, residents of addresses, the
channels open to them for a purpose, streets and quartiers by id or name."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db.models import Count, Max

from proactif.kernel.text import search_key
from proactif.registry import _reach as reach
from proactif.registry.models import Address, Person, Quartier, Voie


def address_stamp() -> tuple[Any, ...]:
    """Changes when addresses are added, removed or moved (what the in-memory index is keyed on)."""
    found = Address.objects.aggregate(n=Count("id"), top=Max("id"), at=Max("updated_at"))
    return int(found["n"] or 0), int(found["top"] or 0), found["at"]


def address_points() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids, lon, lat, voie ids) of every located address."""
    rows = Address.objects.exclude(lon=None).exclude(lat=None).order_by("id").values_list(
        "id", "lon", "lat", "voie_id")
    ids, lon, lat, voies = [], [], [], []
    for pk, x, y, voie in rows.iterator(chunk_size=20_000):
        ids.append(pk)
        lon.append(x)
        lat.append(y)
        voies.append(voie)
    return (np.asarray(ids, dtype=np.int64), np.asarray(lon, dtype=float), np.asarray(lat, dtype=float),
            np.asarray(voies, dtype=np.int64))


def residents_at(address_ids: list[int]) -> list[int]:
    """Active residents whose household lives at one of the addresses, by id."""
    if not address_ids:
        return []
    return sorted(Person.objects.filter(household__address_id__any=address_ids, status="active").values_list(
        "id", flat=True))


def reachable_channels(person_ids: list[int], purpose: str, batch: int = 5_000) -> dict[int, tuple[str, ...]]:
    """Per person, the channels with a contact open for the purpose (consents and oppositions as they are
    now), in the person's order of preference."""
    out: dict[int, tuple[str, ...]] = {}
    for start in range(0, len(person_ids), batch):
        for pid, r in reach.reachable(person_ids[start:start + batch], purpose).items():
            open_ = [c for c in r.addresses if c in r.allowed]
            ranked = [c for c in r.preferences if c in open_] + [c for c in open_ if c not in r.preferences]
            out[pid] = tuple(ranked)
    return out


def voie_names(voie_ids: list[int]) -> dict[int, str]:
    return dict(Voie.objects.filter(pk__any=voie_ids).values_list("id", "nom")) if voie_ids else {}


def voies_matching(text: str, limit: int = 20) -> list[tuple[int, str]]:
    key = search_key(text)
    if not key:
        return []
    return list(Voie.objects.filter(cle__contains=key).order_by("nom").values_list("id", "nom")[:limit])


def quartier_polygons(quartier_ids: list[int]) -> dict[int, dict[str, Any]]:
    return dict(Quartier.objects.filter(pk__any=quartier_ids).values_list("id", "geometry"))


def quartier_layer() -> dict[str, Any]:
    """The quartiers as a GeoJSON FeatureCollection (id, code, name)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": pk, "properties": {"id": pk, "code": code, "nom": nom}, "geometry": geometry}
        for pk, code, nom, geometry in Quartier.objects.order_by("code").values_list("id", "code", "nom", "geometry")]}
