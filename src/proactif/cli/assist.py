"""The public website's assistant: `proactif assist classify` sorts residents' queries into the site's themes."""

from __future__ import annotations

import json

import click

from proactif.cli import main, setup


@main.group()
def assist() -> None:
    """The public website: the search box's queries understood by theme."""


@assist.command()
@click.option("--file", "source", required=True, type=click.File("r", encoding="utf-8"),
              help="Queries, one per line (« - » reads the standard input); empty lines are skipped.")
@click.option("--alternatives", default=2, show_default=True, type=click.IntRange(0, 17),
              help="How many next themes to show with their scores.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query, one per line.")
def classify(source: click.utils.LazyFile, alternatives: int, as_json: bool) -> None:
    """Sort queries into the site's themes (the agents' themes, else the default ones), offline.

    Example: proactif assist classify --file requetes.txt --json
    """
    queries = [line.strip() for line in source if line.strip()]
    setup()
    from proactif.assist._classify import classify as run
    from proactif.assist._classify import current_themes

    results = run(queries, current_themes(), alternatives=alternatives)
    if as_json:
        for r in results:
            click.echo(json.dumps({"query": r.query, "theme": r.theme, "score": r.score,
                                   "alternatives": [{"theme": s, "score": v} for s, v in r.alternatives]},
                                  ensure_ascii=False))
        return
    width = max((len(r.query) for r in results), default=7)
    width = min(max(width, 7), 50)
    click.echo(f"{'requête':<{width}}  {'thème':<28} {'score':>5}  autres")
    for r in results:
        others = ", ".join(f"{s} {v:.2f}" for s, v in r.alternatives)
        click.echo(f"{r.query[:width]:<{width}}  {r.theme:<28} {r.score:>5.2f}  {others}")
