"""Rights detection."""

from __future__ import annotations

import json

import click

from proactif.cli import ID, emit, main, setup


@main.group()
def rights() -> None:
    """Rights detection: OpenFisca situations of the registry's households."""


@rights.command("situation")
@click.argument("household_id", type=ID)
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
        built = rights_services.situation(household_id, rights_services.check_period(month))
    except rights_services.RightsError as exc:
        raise click.ClickException(str(exc)) from None
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
@click.option("--chunk", default=10_000, show_default=True, help="Households per OpenFisca simulation.")
@click.option("--workers", default=None, type=int, help="Processes (default: one per core). With a broker "
                                                        "configured, the Celery batch workers take the chunks.")
@click.option("--floor", default=10.0, show_default=True, help="Euros per month below which nothing is detected.")
@click.option("--no-cache", is_flag=True, help="Compute every household, even those whose inputs did not change.")
@click.option("--json", "as_json", is_flag=True)
def screen(period: str | None, benefits: str | None, export_path: str | None, chunk: int, workers: int | None,
           floor: float, no_cache: bool, as_json: bool) -> None:
    """Screen every household with OpenFisca-France, a vectorised simulation per chunk of households: per
    benefit the households eligible, already receiving, detected (eligible two months running, not receiving,
    amount above the floor, not opposed to being informed) and the potential euros per month. The run, its
    detections and their reasons are kept (Droits in the interface); households whose inputs did not change
    since an earlier run of the month are taken from the cache.

    Example: proactif screen --period 2026-11 --export detections.csv --json
    """
    setup()
    import os
    import time

    from django.conf import settings

    from proactif.cli import progress_bar
    from proactif.kernel import clock, csvexport
    from proactif.rights import services as rights_services

    month = period or clock.today().strftime("%Y-%m")
    chosen = [b.strip() for b in benefits.split(",")] if benefits else None
    started = time.monotonic()
    processes = workers or os.cpu_count() or 1
    if not settings.BROKER_URL and processes > 1:  # a small commune still keeps every core busy
        chunk = max(1, min(chunk, -(-rights_services.households_count() // processes)))
    try:
        run = rights_services.start_run(month, benefits=chosen, floor=floor, chunk=chunk, started_by="cli",
                                        submit=False, use_cache=not no_cache)
    except rights_services.RightsError as exc:
        raise click.BadParameter(str(exc), param_hint=f"--{exc.field}") from exc
    with progress_bar("Criblage", run.households_total) as advance:
        if settings.BROKER_URL:
            rights_services.submit_chunks(run.pk)
            run = rights_services.wait_for(run.pk, advance)
        else:
            run = rights_services.run_locally(run.pk, processes, advance)
    if run.status != "done":
        raise click.ClickException(f"criblage {run.pk} en échec : {run.error}")
    if export_path:
        with open(export_path, "w", newline="", encoding="utf-8") as handle:
            writer = csvexport.writer(handle)
            writer.writerow(["household_id", "benefit", "eligible", "receiving", "detected", "amount"])
            for household_id, benefit, eligible, receiving, detected, amount in rights_services.export_rows(run):
                writer.writerow([household_id, benefit, int(eligible), int(receiving), int(detected), f"{amount:.2f}"])
    seconds = time.monotonic() - started
    total = run.households_total
    emit(as_json, {"run": run.pk, "period": month, "households": total, "from_cache": run.households_cached,
                   "seconds": round(seconds, 1), "households_per_second": round(total / seconds, 1) if seconds else 0,
                   "model": run.model_version, "benefits": run.summary,
                   "beside_national": rights_services.beside_national(run.summary, total), "export": export_path})


@rights.command("outreach")
@click.argument("run_id", type=ID)
@click.option("--benefit", default="", help="Only the households detected for this benefit.")
@click.option("--quartier", type=ID, default=None, help="Only this quartier (id).")
@click.option("--confidence", type=click.Choice(["", "haute", "moyenne", "faible"]), default="")
@click.option("--limit", type=int, default=None, help="At most this many households.")
@click.option("--json", "as_json", is_flag=True)
def outreach(run_id: int, benefit: str, quartier: int | None, confidence: str, limit: int | None,
             as_json: bool) -> None:
    """Start the "vous pourriez avoir droit à…" journey for the households a screening run detected.

    Example: proactif rights outreach 3 --confidence haute --limit 200
    """
    setup()
    from proactif.rights import services as rights_services

    try:
        figures = rights_services.start_outreach(run_id, benefit=benefit, quartier=quartier, confidence=confidence,
                                                 limit=limit, started_by="cli")
    except (rights_services.RightsError, LookupError) as exc:  # LookupError: an unknown run
        raise click.ClickException(str(exc)) from None
    emit(as_json, figures)


@rights.command("follow-up")
@click.option("--json", "as_json", is_flag=True)
def follow_up(as_json: bool) -> None:
    """Check take-up now (M+1 and M+3 after the information, through the connectors)."""
    setup()
    from proactif.rights import services as rights_services

    emit(as_json, rights_services.follow_up())


@rights.command("funnel")
@click.option("--run", "run_id", type=ID, default=None)
@click.option("--json", "as_json", is_flag=True)
def funnel(run_id: int | None, as_json: bool) -> None:
    """The outreach funnel and the take-up rates."""
    setup()
    from proactif.rights import services as rights_services

    figures = rights_services.funnel(run_id)
    figures.pop("labels")
    emit(as_json, figures)


@rights.group("aids")
def aids() -> None:
    """Local aids: declarative YAML rules screened beside the national benefits."""


@aids.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def aids_check(path: str, as_json: bool) -> None:
    """Check a local aid's rule: every problem is listed, with its place.

    Example: proactif rights aids check tarif-cantine.yaml
    """
    setup()
    from pathlib import Path

    from proactif.rights import services as rights_services

    try:
        aid = rights_services.check_aid(Path(path).read_text(encoding="utf-8"), Path(path).name)
    except rights_services.LocalAidError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from exc
    emit(as_json, {"key": aid.benefit, "name": aid.name, "conditions": len(aid.conditions), "valid": True})


@aids.command("list")
@click.option("--json", "as_json", is_flag=True)
def aids_list(as_json: bool) -> None:
    """The local aids in force (PROACTIF_LOCAL_AIDS_DIR, or the shipped examples)."""
    setup()
    from proactif.rights import services as rights_services

    emit(as_json, {"aids": [{"key": key, "name": aid.name, "description": aid.description}
                            for key, aid in rights_services.local_aids().items()]})
