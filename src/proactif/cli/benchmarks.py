"""Benchmarks."""

from __future__ import annotations

import click

from proactif.cli import emit, main, setup


# --- benchmarks -----------------------------------------------------------------------------
@main.command()
@click.argument("name")
@click.option("--residents", default=None, type=int, help="Size of the commune (default per benchmark).")
@click.option("--database", type=click.Choice(["sqlite", "postgres"]), default="sqlite", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench(name: str, residents: int | None, database: str, as_json: bool) -> None:
    """Measure a capability at a realistic size, beside a reference measured in the same run.

    Benchmarks: seed, search.

    Example: proactif bench seed --residents 1000000 --database postgres --json
    """
    from proactif.bench import run_benchmark

    try:
        figures = run_benchmark(name, residents=residents, database=database)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    emit(as_json, figures)


@main.command("bench-probe", hidden=True)
@click.argument("what", type=click.Choice(["count", "search"]))
@click.option("--json", "as_json", is_flag=True)
def bench_probe(what: str, as_json: bool) -> None:
    """The part of a benchmark that runs inside the measured database (used by `proactif bench`)."""
    setup()
    from proactif.bench import search

    emit(True, {"residents": search.synthetic_residents()} if what == "count" else search.probe())


