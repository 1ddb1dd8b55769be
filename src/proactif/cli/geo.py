"""Geo-targeting: which addresses, residents and contacts an area reaches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from proactif.cli import ID, emit, main, setup


def read_areas(path: Path | None) -> list[dict[str, Any]]:
    """The areas of a GeoJSON file, checked (a clear refusal otherwise)."""
    from proactif.geo import services as geo_services

    if path is None:
        return []
    try:
        return geo_services.features_of(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path} : GeoJSON illisible ({exc})") from None
    except RecursionError:
        raise click.ClickException(f"{path} : GeoJSON illisible (imbrication trop profonde)") from None
    except geo_services.AreaError as exc:
        raise click.ClickException(f"zone refusée : {exc}") from None


def quartier_ids(codes: tuple[str, ...]) -> list[int]:
    """Quartiers by their codes (an unknown code is refused)."""
    from proactif.registry import services as registry

    known = {q.code: q.pk for q in registry.quartiers()} if codes else {}
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise click.ClickException(f"quartier inconnu : {', '.join(unknown)}")
    return [known[code] for code in codes]


@main.group()
def geo() -> None:
    """Geo-targeting over the registry's address points."""


@geo.command("select")
@click.option("--area", "area_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="GeoJSON: a Polygon or MultiPolygon, a Feature, a FeatureCollection; a Point feature with a "
                   "`radius` property (metres) is a circle.")
@click.option("--circle", nargs=3, type=float, default=None, metavar="LON LAT RADIUS_M", help="A circle.")
@click.option("--quartier", "quartiers", multiple=True, help="A quartier, by code (repeatable).")
@click.option("--street", "streets", multiple=True, type=ID, help="A voie, by id: every number of it (repeatable).")
@click.option("--address", "addresses", multiple=True, type=ID, help="An address id (repeatable).")
@click.option("--purpose", default="alertes", show_default=True, help="Whose consents count for the reach.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def select(area_file: Path | None, circle: tuple[float, float, float] | None, quartiers: tuple[str, ...],
           streets: tuple[int, ...], addresses: tuple[int, ...], purpose: str, as_json: bool) -> None:
    """Print the count and the ids of the addresses an area selects, its residents and, per channel, the
    residents reachable with their consents.

    Example: proactif geo select --area zone.geojson --json | jq .addresses
    """
    setup()
    from proactif.geo import services as geo_services

    areas = read_areas(area_file)
    if circle:
        areas.append({"type": "Feature", "properties": {"radius": circle[2]},
                      "geometry": {"type": "Point", "coordinates": list(circle[:2])}})
    try:
        target = geo_services.Target.of(areas, streets, quartier_ids(quartiers), addresses)
    except geo_services.AreaError as exc:
        raise click.ClickException(f"zone refusée : {exc}") from None
    if target.is_empty():
        raise click.ClickException("indiquez une zone : --area, --circle, --quartier, --street ou --address")
    selection = geo_services.select(target, purpose)
    summary = selection.summary(with_ids=True)
    if as_json:
        emit(True, summary)
        return
    click.echo(f"{summary['addresses']} adresses, {summary['residents']} habitants")
    for channel, count in summary["reachable"].items():
        click.echo(f"  joignables par {channel} : {count}")
    click.echo(f"  sans canal ouvert : {summary['unreachable']}")
    for street in summary["streets"][:30]:
        click.echo(f"  {street['nom']} : {street['addresses']} adresses")
