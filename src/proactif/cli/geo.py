"""Geo-targeting: which addresses, residents and contacts an area reaches."""

from __future__ import annotations

import json
from pathlib import Path

import click

from proactif.cli import emit, main, setup


@main.group()
def geo() -> None:
    """Geo-targeting over the registry's address points."""


@geo.command("select")
@click.option("--area", "area_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="GeoJSON: a Polygon or MultiPolygon, a Feature, a FeatureCollection; a Point feature with a "
                   "`radius` property (metres) is a circle.")
@click.option("--circle", nargs=3, type=float, default=None, metavar="LON LAT RADIUS_M", help="A circle.")
@click.option("--quartier", "quartiers", multiple=True, help="A quartier, by code (repeatable).")
@click.option("--street", "streets", multiple=True, type=int, help="A voie, by id: every number of it (repeatable).")
@click.option("--address", "addresses", multiple=True, type=int, help="An address id (repeatable).")
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
    from proactif.registry import services as registry

    target = geo_services.Target(voie_ids=list(streets), address_ids=list(addresses))
    try:
        if area_file:
            target.areas += geo_services.parse_area(json.loads(area_file.read_text(encoding="utf-8")))
        if circle:
            target.areas.append(geo_services.Circle(circle[0], circle[1], circle[2]))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{area_file} : GeoJSON illisible ({exc})") from None
    except geo_services.AreaError as exc:
        raise click.ClickException(f"zone refusée : {exc}") from None
    if quartiers:
        known = {q.code: q.pk for q in registry.quartiers()}
        unknown = [code for code in quartiers if code not in known]
        if unknown:
            raise click.ClickException(f"quartier inconnu : {', '.join(unknown)}")
        target.quartier_ids = [known[code] for code in quartiers]
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
