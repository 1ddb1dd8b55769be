"""Geo-targeting: the grid index selects exactly what testing every point would (polygons, circles, edges of
cells and of the commune), areas are read from GeoJSON with clear refusals, and on the seeded commune a
selection gives its addresses, residents and reachable contacts — from the services and the CLI."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from proactif.cli import main
from proactif.geo import domain
from tests.conftest import reference_file


def brute_force(index: domain.PointIndex, lon: np.ndarray, lat: np.ndarray, area: domain.Area) -> np.ndarray:
    x, y = index.plane.to_xy(lon, lat)
    if isinstance(area, domain.Circle):
        cx, cy = index.plane.to_xy(area.lon, area.lat)
        inside = (x - cx) ** 2 + (y - cy) ** 2 <= area.radius_m ** 2
    else:
        inside = shapely.contains_xy(index.plane.project(area), x, y)
    return np.flatnonzero(inside) + 1  # ids are positions + 1


@pytest.fixture(scope="module")
def paris() -> tuple[domain.PointIndex, np.ndarray, np.ndarray, list[domain.Area]]:
    quartiers = [domain.parse_area(f)[0] for f in json.loads(
        reference_file("quartier_paris.geojson").read_text(encoding="utf-8"))["features"]]
    xmin, ymin, xmax, ymax = shapely.union_all(quartiers).bounds
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(xmin, xmax, 60_000), rng.uniform(ymin, ymax, 60_000)
    return domain.PointIndex(np.arange(1, 60_001), lon, lat), lon, lat, quartiers


def test_every_quartier_selects_exactly_the_points_inside_it(paris) -> None:
    index, lon, lat, quartiers = paris
    total = 0
    for quartier in quartiers:
        selected = index.address_ids(index.select([quartier]))
        assert np.array_equal(selected, brute_force(index, lon, lat, quartier))
        total += len(selected)
    assert 0.3 * len(lon) < total < len(lon)  # the quartiers cover part of their bounding box, without overlap


@settings(max_examples=40, deadline=None)
@given(st.floats(2.25, 2.42), st.floats(48.81, 48.90), st.floats(1, 3000))
def test_circles_select_exactly_the_points_within_their_radius(paris, lon0: float, lat0: float, radius: float) -> None:
    index, lon, lat, _ = paris
    circle = domain.Circle(lon0, lat0, radius)
    assert np.array_equal(index.address_ids(index.select([circle])), brute_force(index, lon, lat, circle))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(2.2, 2.45), st.floats(48.8, 48.92)), min_size=3, max_size=12))
def test_drawn_polygons_even_crossing_themselves_select_what_their_valid_shape_covers(paris, corners) -> None:
    index, lon, lat, _ = paris
    feature = {"type": "Polygon", "coordinates": [[*map(list, corners), list(corners[0])]]}
    try:
        [area] = domain.parse_area(feature)
    except domain.AreaError:
        return  # a flat drawing (no surface) is refused with a reason
    assert area.is_valid
    assert np.array_equal(index.address_ids(index.select([area])), brute_force(index, lon, lat, area))


def test_several_areas_are_one_union_and_outside_areas_select_nothing(paris) -> None:
    index, lon, lat, quartiers = paris
    both = index.address_ids(index.select(quartiers[:2]))
    expected = np.union1d(brute_force(index, lon, lat, quartiers[0]), brute_force(index, lon, lat, quartiers[1]))
    assert np.array_equal(both, expected)
    far = domain.parse_area({"type": "Polygon", "coordinates": [[[5, 45], [5.1, 45], [5.1, 45.1], [5, 45]]]})
    assert len(index.select(far)) == 0
    assert len(index.select([domain.Circle(5.0, 45.0, 100)])) == 0
    empty = domain.PointIndex([], [], [])
    assert len(empty.select(quartiers[:1])) == 0


@pytest.mark.parametrize(("data", "message"), [
    ({"type": "FeatureCollection", "features": []}, "aucune zone"),
    ({"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.9]]}, "non pris en charge"),
    ({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [2.3, 48.8]}}, "rayon"),
    ({"type": "Polygon", "coordinates": [[[200, 48], [2.4, 48.9], [2.3, 48.9], [200, 48]]]}, "hors de la Terre"),
    ({"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.5, 48.8], [2.3, 48.8]]]}, "sans surface"),
    ({"type": "Polygon", "coordinates": "n'importe quoi"}, "illisible"),
    ([{"type": "Polygon"}], "non pris en charge"),  # a JSON array
    ({"type": "Feature", "properties": {}, "geometry": [1, 2]}, "objets"),
    ({"type": "FeatureCollection", "features": [{"type": "FeatureCollection", "features": [{}]}]}, "collections"),
    ({"type": "Feature", "properties": {}, "geometry": {"type": "Feature", "geometry": {}}}, "géométrie"),
    *[({"type": "Feature", "properties": {"radius": radius},
        "geometry": {"type": "Point", "coordinates": [2.3, 48.8]}}, message)
      for radius, message in ((float("nan"), "rayon positif"), (-5, "rayon positif"), (True, "rayon positif"),
                              ("50", "rayon positif"), (float("inf"), "trop grand"), (1e300, "trop grand"),
                              (10**400, "trop grand"))],
    ({"type": "Feature", "properties": {"radius": 50}, "geometry": {"type": "Point", "coordinates": {"x": 1}}},
     "illisible"),
])
def test_bad_areas_are_refused_with_their_reason(data, message) -> None:
    with pytest.raises(domain.AreaError, match=message):
        domain.parse_area(data)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["type", "coordinates", "features", "geometry", "properties", "radius"]),
                        inner, max_size=4), max_leaves=20)
KINDS = st.sampled_from(["Polygon", "MultiPolygon", "Feature", "FeatureCollection", "Point"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, st.fixed_dictionaries({"type": KINDS, "coordinates": JSON}),
                 st.fixed_dictionaries({"type": st.just("Feature"), "geometry": JSON, "properties": JSON}),
                 st.fixed_dictionaries({"type": st.just("FeatureCollection"), "features": JSON})))
def test_any_json_is_an_area_or_an_area_error(data) -> None:
    """Whatever a client sends as an area, the answer is an area or a reason (a 400), never another error."""
    with contextlib.suppress(domain.AreaError):
        domain.parse_area(data)


def test_3d_coordinates_are_accepted_and_their_altitude_dropped() -> None:
    flat = {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]}
    raised = {"type": "Polygon", "coordinates": [[[x, y, 35.0] for x, y in flat["coordinates"][0]]]}
    [polygon] = domain.parse_area(raised)
    assert not polygon.has_z and polygon.equals(domain.parse_area(flat)[0])
    [circle] = domain.parse_area({"type": "Feature", "properties": {"radius": 100},
                                  "geometry": {"type": "Point", "coordinates": [2.3, 48.85, 120]}})
    assert circle == domain.Circle(2.3, 48.85, 100.0)


def test_a_point_with_a_radius_is_a_circle() -> None:
    [circle] = domain.parse_area({"type": "Feature", "properties": {"radius": 250},
                                  "geometry": {"type": "Point", "coordinates": [2.3, 48.85]}})
    assert circle == domain.Circle(2.3, 48.85, 250.0)


# --- on the seeded commune -------------------------------------------------------------------
@pytest.mark.django_db
def test_a_quartier_selects_its_addresses_their_residents_and_reachable_contacts() -> None:
    from proactif.geo import services as geo
    from proactif.registry.models import Address, Person, Quartier

    geo.forget_index()
    quartier = max(Quartier.objects.all(), key=lambda q: Address.objects.filter(quartier=q).count())
    selection = geo.select(geo.Target(quartier_ids=[quartier.pk]))
    polygon = shapely.geometry.shape(quartier.geometry)
    located = Address.objects.exclude(lon=None)
    inside = sorted(a.pk for a in located if shapely.contains_xy(polygon, a.lon, a.lat))
    assert selection.address_ids == inside and inside
    residents = sorted(Person.objects.filter(household__address_id__in=inside, status="active").values_list(
        "id", flat=True))
    assert selection.resident_ids == residents
    assert sum(selection.reachable.values()) >= len(residents) - selection.unreachable > 0
    assert selection.voies and all(n > 0 for _, _, n in selection.voies)


@pytest.mark.django_db
def test_a_street_selects_every_number_of_it() -> None:
    from proactif.geo import services as geo
    from proactif.registry.models import Address

    geo.forget_index()
    voie_id = Address.objects.exclude(lon=None).values_list("voie_id", flat=True).order_by("voie_id").first()
    selection = geo.select(geo.Target(voie_ids=[voie_id]))
    assert selection.address_ids == sorted(Address.objects.filter(voie_id=voie_id).exclude(lon=None).values_list(
        "id", flat=True))
    assert [v for v, _, _ in selection.voies] == [voie_id]


@pytest.mark.django_db
def test_geo_select_prints_the_count_and_the_address_ids(tmp_path) -> None:
    from proactif.geo import services as geo
    from proactif.registry.models import Address, Quartier

    geo.forget_index()
    quartier = max(Quartier.objects.all(), key=lambda q: Address.objects.filter(quartier=q).count())
    area = tmp_path / "zone.geojson"
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": quartier.geometry}]}))
    result = CliRunner().invoke(main, ["geo", "select", "--area", str(area), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output.strip().splitlines()[-1])
    expected = geo.select(geo.Target(quartier_ids=[quartier.pk]))
    assert printed["addresses"] == len(expected.address_ids) == len(printed["address_ids"]) > 0
    assert printed["address_ids"] == expected.address_ids
    assert printed["residents"] == len(expected.resident_ids)

    address = Address.objects.exclude(lon=None).order_by("id").first()
    circle = CliRunner().invoke(main, ["geo", "select", "--circle", str(address.lon), str(address.lat), "40", "--json"])
    assert circle.exit_code == 0, circle.output
    assert address.pk in json.loads(circle.output.strip().splitlines()[-1])["address_ids"]

    area.write_text('{"type": "LineString", "coordinates": [[2.3, 48.8], [2.4, 48.9]]}')
    refused = CliRunner().invoke(main, ["geo", "select", "--area", str(area), "--json"])
    assert refused.exit_code == 1 and "non pris en charge" in refused.output
    nothing = CliRunner().invoke(main, ["geo", "select", "--json"])
    assert nothing.exit_code == 1 and "indiquez une zone" in nothing.output
