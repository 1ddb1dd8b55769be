"""Benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from proactif.cli import emit, main, setup


# --- benchmarks -----------------------------------------------------------------------------
@main.command()
@click.argument("name")
@click.option("--residents", default=None, type=int, help="Size of the commune (default per benchmark).")
@click.option("--database", type=click.Choice(["sqlite", "postgres"]), default=None,
              help="Database of the benchmark (seed and search: sqlite; journeys: postgres).")
@click.option("--profiles", default=None, type=click.IntRange(min=10),
              help="assist: visitor profiles generated (25 events each; default 1,000,000).")
@click.option("--json", "as_json", is_flag=True)
def bench(name: str, residents: int | None, database: str | None, profiles: int | None, as_json: bool) -> None:
    """Measure a capability at a realistic size, beside a reference measured in the same run.

    Benchmarks: seed, search, journeys, outbox, sendtime, rights, geo (--residents: address points), alert,
    count (the alerts map's live count; sqlite by default).
    telemetry (home devices over MQTT against the raw subscriber limit; --residents: messages),
    assist (the search box's queries sorted into themes, offline, against the sentence encoder alone; then the
    homepage personalised for one of --profiles generated profiles and the events' ingestion, on SQLite and on
    PostgreSQL unless --database names one, and the uplift against the control group).

    Example: proactif bench seed --residents 1000000 --database postgres --json
    Example: proactif bench assist --profiles 20000 --json
    """
    from proactif.bench import run_benchmark

    if profiles is not None and name != "assist":
        raise click.UsageError("--profiles ne s'applique qu'au benchmark assist")
    try:
        if name == "assist":
            from proactif.bench import assist

            figures = assist.run(profiles=profiles, database=database)
        else:
            options: dict[str, object] = {"residents": residents}
            if database:
                options["database"] = database
            figures = run_benchmark(name, **options)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    emit(as_json, figures)


@main.command("bench-probe", hidden=True)
@click.argument("what", type=click.Choice(["count", "search", "journeys", "journeys-worker", "outbox-campaign",
                                           "outbox-raw", "outbox-check", "sendtime", "rights-per-household",
                                           "rights-quality", "alert-setup", "alert-wait", "alert-measure",
                                           "alert-bulk", "count-live", "telemetry", "personalise-generate",
                                           "personalise-size", "personalise-home", "personalise-cookies",
                                           "personalise-cleanup", "personalise-uplift"]))
@click.option("--count", default=0, type=int)
@click.option("--devices", default=0, type=int)
@click.option("--run", "run_id", default=0, type=int)
@click.option("--sms-share", default=0.5, type=float)
@click.option("--deliver-all", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def bench_probe(what: str, count: int, devices: int, run_id: int, sms_share: float, deliver_all: bool,
                as_json: bool) -> None:
    """The part of a benchmark that runs inside the measured database (used by `proactif bench`)."""
    setup()
    from proactif.bench import alert, journeys, outbox, personalise, rights, search, sendtime, telemetry
    from proactif.bench import count as live_count

    probes: dict[str, Callable[[], Any]] = {
              "count": lambda: {"residents": search.synthetic_residents()},
              "search": search.probe, "rights-quality": lambda: rights.quality(run_id),
              "journeys": journeys.probe, "journeys-worker": journeys.worker, "outbox-campaign": outbox.campaign,
              "outbox-raw": lambda: outbox.raw(count, sms_share), "outbox-check": outbox.check,
              "sendtime": lambda: sendtime.probe(count or sendtime.PEOPLE),
              "rights-per-household": lambda: rights.per_household(count or rights.SAMPLE),
              "alert-setup": lambda: alert.setup(count or alert.BULK), "alert-wait": lambda: alert.wait_sent(count),
              "alert-measure": lambda: alert.measure(count, deliver_all), "alert-bulk": alert.bulk_figures,
              "count-live": live_count.probe,
              "telemetry": lambda: telemetry.measure(count or telemetry.MESSAGES, devices or telemetry.DEVICES),
              "personalise-generate": lambda: personalise.generate(count or personalise.PROFILES, run_id or 1),
              "personalise-size": personalise.size,
              "personalise-home": lambda: personalise.home(count or personalise.REQUESTS, run_id or 1),
              "personalise-cookies": lambda: personalise.cookies(count or 200, run_id or 1),
              "personalise-cleanup": personalise.cleanup,
              "personalise-uplift": lambda: personalise.uplift(count or personalise.UPLIFT_VISITORS, run_id or 1)}
    emit(True, probes[what]())


