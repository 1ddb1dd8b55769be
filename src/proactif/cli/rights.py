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


@main.command()
@click.option("--period", default=None, help="Month YYYY-MM (default: this month).")
@click.option("--benefits", default=None, help="Comma-separated benefits (default: all): "
                                               "rsa,prime_activite,css_gratuite,css_participation,aide_logement,"
                                               "aspa,aah,cheque_energie.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False), help="CSV file: one row per household "
                                                                                 "and benefit.")
@click.option("--chunk", default=2000, show_default=True, help="Households per OpenFisca simulation.")
@click.option("--json", "as_json", is_flag=True)
def screen(period: str | None, benefits: str | None, export_path: str | None, chunk: int, as_json: bool) -> None:
    """Screen every household with OpenFisca-France (one simulation per chunk of households): per benefit the
    households eligible, already receiving, detected (eligible, not receiving, amount above the floor, not
    opposed to being informed) and the potential euros per month.

    Example: proactif screen --period 2026-11 --export detections.csv --json
    """
    setup()
    import csv
    import time

    from proactif.cli import progress_bar
    from proactif.kernel import clock
    from proactif.rights import screening
    from proactif.rights import services as rights_services

    month = period or clock.today().strftime("%Y-%m")
    chosen = tuple(b.strip() for b in benefits.split(",")) if benefits else None
    unknown = [b for b in chosen or () if b not in rights_services.BENEFITS]
    if unknown:
        raise click.ClickException(f"prestation inconnue : {', '.join(unknown)} "
                                   f"({', '.join(rights_services.BENEFITS)})")
    started = time.monotonic()
    total = rights_services.households_count()
    with progress_bar("Criblage", total) as advance:
        rows = list(screening.screen(month, chunk=chunk, benefits=chosen, progress=advance))
    if export_path:
        with open(export_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(["household_id", "benefit", "eligible", "receiving", "detected", "amount"])
            for row in rows:
                writer.writerow([row.household_id, row.benefit, int(row.eligible), int(row.receiving),
                                 int(row.detected), f"{row.amount:.2f}"])
    seconds = time.monotonic() - started
    emit(as_json, {"period": month, "households": total, "seconds": round(seconds, 1),
                   "households_per_second": round(total / seconds, 1) if seconds else 0,
                   "model": rights_services.model_version(), "benefits": screening.summary(rows),
                   "export": export_path})
