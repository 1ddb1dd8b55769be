"""Rights detection."""

from __future__ import annotations

import json

import click

from proactif.cli import emit, main, setup


@main.group()
def rights() -> None:
    """Rights detection: OpenFisca situations of the registry's households."""


@rights.command("situation")
@click.argument("household_id", type=int)
@click.option("--period", default=None, help="Month YYYY-MM (default: this month).")
@click.option("--compute", is_flag=True, help="Also compute it with OpenFisca-France, on its own, and print the "
                                                 "monthly amount per benefit.")
def situation(household_id: int, period: str | None, compute: bool) -> None:
    """Print the exact OpenFisca situation (the Web API's JSON format) the platform computes for a household
    and a month, so anyone can run the case again in OpenFisca (POST it to /calculate).

    Example: proactif rights situation 42 --period 2026-11 > situation.json
    """
    setup()
    from proactif.kernel import clock
    from proactif.rights import services as rights_services

    month = period or clock.today().strftime("%Y-%m")
    try:
        built = rights_services.situation(household_id, month)
    except LookupError as exc:
        raise click.ClickException(f"foyer {household_id} inconnu") from exc
    if compute:
        emit(True, {"situation": built, **rights_services.compute_household(household_id, month)})
    else:
        click.echo(json.dumps(built, ensure_ascii=False, indent=2))
