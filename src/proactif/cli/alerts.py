"""Incident alerts: send, update, resolve, approve, export as CAP, import road works."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from proactif.cli import ID, cli_actor, emit, main, setup
from proactif.cli.geo import quartier_ids, read_areas

AREA_HELP = ("GeoJSON: a Polygon or MultiPolygon, a Feature, a FeatureCollection; a Point feature with a `radius` "
             "property (metres) is a circle.")


def _read_json(path: Path) -> Any:
    """A JSON file (road works: any GeoJSON, each feature checked by the importer)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path} : JSON illisible ({exc})") from None
    except RecursionError:
        raise click.ClickException(f"{path} : JSON illisible (imbrication trop profonde)") from None


@main.group()
def alert() -> None:
    """Incident alerts to the residents of an area (urgent lane), CAP 1.2 export, road-works import."""


@alert.command("send")
@click.option("--area", "area_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=AREA_HELP)
@click.option("--quartier", "quartiers", multiple=True, help="A quartier, by code (repeatable).")
@click.option("--street", "streets", multiple=True, type=ID, help="A voie, by id (repeatable).")
@click.option("--type", "type_code", required=True, help="coupure_electricite, coupure_eau, inondation, travaux, "
                                                         "evenement or autre.")
@click.option("--text", required=True, help="The message, in French.")
@click.option("--text-en", default="", help="The message in English (residents whose language is English).")
@click.option("--title", default="", help="The incident's title for agents (default: the type and the area).")
@click.option("--label", default="", help="The area as residents read it (default: from the streets and quartiers).")
@click.option("--exercise", is_flag=True, help="An exercise: only the test contacts (PROACTIF_ALERT_TEST_CONTACTS).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def send(area_file: Path | None, quartiers: tuple[str, ...], streets: tuple[int, ...], type_code: str, text: str,
         text_en: str, title: str, label: str, exercise: bool, as_json: bool) -> None:
    """Create an incident on an area and send its alert: prints the incident id and the recipients per channel.

    Example: proactif alert send --area zone.geojson --type coupure_electricite --text "Coupure jusqu'à 18 h" --json
    """
    setup()
    from proactif.alerts import services

    features, quartier_pks = read_areas(area_file), quartier_ids(quartiers)
    import time

    started = time.monotonic()
    try:
        incident, result = services.open_incident(cli_actor(), services.Draft(
            type_code, title or dict(services.types()).get(type_code, type_code), features, list(streets),
            quartier_pks, [], area_label=label, exercise=exercise, source="cli"),
            {"fr": text, "en": text_en})
    except services.IncidentError as exc:
        raise click.ClickException(str(exc)) from None
    queued = round(time.monotonic() - started, 3)  # every message written and queued
    reach = services.preview(services.target_of(incident), type_code, exercise)
    emit(as_json, {**result, "queued_seconds": queued, "addresses": reach.addresses,
                   "reachable": reach.channels, "unreachable": reach.unreachable})


def _message(incident_id: int, kind: str, text: str, text_en: str, as_json: bool) -> None:
    setup()
    from proactif.alerts import services

    try:
        emit(as_json, services.send(cli_actor(), incident_id, kind, {"fr": text, "en": text_en}))
    except (services.IncidentError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None


@alert.command("update")
@click.argument("incident_id", type=ID)
@click.option("--text", required=True, help="The update, in French.")
@click.option("--text-en", default="", help="The update in English.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def update(incident_id: int, text: str, text_en: str, as_json: bool) -> None:
    """Send an update to every recipient of the incident (and the residents of areas added since).

    Example: proactif alert update 3 --text "Retour du courant prévu à 20 h"
    """
    _message(incident_id, "mise_a_jour", text, text_en, as_json)


@alert.command("resolve")
@click.argument("incident_id", type=ID)
@click.option("--text", required=True, help="The end of the incident, in French.")
@click.option("--text-en", default="", help="The same in English.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def resolve(incident_id: int, text: str, text_en: str, as_json: bool) -> None:
    """Announce the end of the incident to every recipient (CAP: an Update with responseType AllClear).

    Example: proactif alert resolve 3 --text "Le courant est rétabli."
    """
    _message(incident_id, "fin", text, text_en, as_json)


@alert.command("extend")
@click.argument("incident_id", type=ID)
@click.option("--area", "area_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=AREA_HELP)
@click.option("--quartier", "quartiers", multiple=True, help="A quartier, by code (repeatable).")
@click.option("--street", "streets", multiple=True, type=ID, help="A voie, by id (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def extend(incident_id: int, area_file: Path | None, quartiers: tuple[str, ...], streets: tuple[int, ...],
           as_json: bool) -> None:
    """Widen an incident's area: its residents receive the next message and every one after.

    Example: proactif alert extend 3 --quartier 7511503
    """
    setup()
    from proactif.alerts import services

    features, quartier_pks = read_areas(area_file), quartier_ids(quartiers)
    try:
        incident = services.add_area(cli_actor(), incident_id, features, list(streets), quartier_pks)
    except (services.IncidentError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, {"incident": incident.pk, "status": incident.status, "areas": len(incident.areas),
                   "streets": incident.voie_ids, "quartiers": incident.quartier_ids})


@alert.command("approve")
@click.argument("incident_id", type=ID)
@click.option("--by", "by", required=True, help="Who approves (another agent than the one who sent it).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def approve(incident_id: int, by: str, as_json: bool) -> None:
    """Approve an alert waiting for a second agent: it leaves at once.

    Example: proactif alert approve 3 --by chef.police@belleroche.fr
    """
    setup()
    from proactif.accounts.domain import system_actor
    from proactif.alerts import services

    try:
        emit(as_json, services.approve(system_actor(f"cli:{by}"), incident_id))
    except (services.IncidentError, LookupError) as exc:
        raise click.ClickException(str(exc)) from None


@alert.command("cap")
@click.argument("incident_id", type=ID)
@click.option("--seq", type=ID, default=None, help="Which message (1 = the alert; default: the latest).")
def cap(incident_id: int, seq: int | None) -> None:
    """Print a message of the incident as a CAP 1.2 XML document.

    Example: proactif alert cap 3 > alerte-3.xml
    """
    setup()
    from proactif.alerts import services

    try:
        incident = services.get(incident_id)
        last = services.messages_of(incident).last()
        if last is None:
            raise LookupError(f"l'incident {incident_id} n'a encore envoyé aucun message")
        click.echo(services.cap_document(incident_id, seq or last.seq), nl=False)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None


@alert.command("list")
@click.option("--status", default="", help="brouillon, a_valider, active, resolue or close.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_(status: str, as_json: bool) -> None:
    """List the incidents with their status, recipients and messages.

    Example: proactif alert list --status active --json
    """
    setup()
    from proactif.alerts import services

    rows = [{"id": i.pk, "type": i.type_code, "title": i.title, "status": i.status, "exercise": i.exercise,
             "recipients": i.recipients_count, "area": i.area_label, "send_at": i.send_at}
            for i in services.incidents(status)]
    emit(as_json, {"incidents": rows}, lambda: [click.echo(
        f"{r['id']:>5}  {r['status']:<10} {r['type']:<20} {r['recipients']:>7}  {r['title']}") for r in rows])


@alert.command("import-roadworks")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_roadworks(path: Path, as_json: bool) -> None:
    """Import road works (GeoJSON like Paris' "chantiers perturbants") as scheduled incidents: their alert
    leaves two days before the works start; a record imported again updates its incident.

    Example: proactif alert import-roadworks chantiers-perturbants.geojson --json
    """
    setup()
    from proactif.alerts import services

    emit(as_json, services.import_roadworks(cli_actor(), _read_json(path)))
