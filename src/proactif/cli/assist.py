"""The public website's assistant: `proactif assist classify` sorts residents' queries into the site's themes."""

from __future__ import annotations

import json

import click

from proactif.cli import ID, emit, main, setup


@main.group()
def assist() -> None:
    """The public website: the search box's queries understood by theme."""


@assist.command()
@click.option("--file", "source", required=True, type=click.File("rb"),
              help="Queries, one per line (« - » reads the standard input); empty lines are skipped.")
@click.option("--alternatives", default=2, show_default=True, type=click.IntRange(0, 17),
              help="How many next themes to show with their scores.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query, one per line.")
def classify(source: click.utils.LazyFile, alternatives: int, as_json: bool) -> None:
    """Sort queries into the site's themes (the agents' themes, else the default ones), offline.

    Example: proactif assist classify --file requetes.txt --json
    """
    queries = read_queries(source.read(), getattr(source, "name", "-"))
    setup()
    from proactif.assist import services

    results = services.classify(queries, services.current_themes(), alternatives=alternatives)
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


MAX_QUERY = 500  # as the site's search box


def read_queries(raw: bytes, name: str) -> list[str]:
    """One query per line of a UTF-8 file (a BOM and any line ends accepted); a file that is not UTF-8 text or a
    line longer than a search box takes is refused with its place."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.UsageError(f"{name} : ce n'est pas un texte UTF-8 (octet {exc.start + 1})") from None
    if "\x00" in text:
        raise click.UsageError(f"{name} : ce n'est pas un fichier texte (octet nul)")
    queries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if len(line) > MAX_QUERY:
            raise click.UsageError(f"{name}, ligne {number} : requête de {len(line)} caractères, "
                                   f"{MAX_QUERY} au plus")
        if line:
            queries.append(line)
    return queries


@assist.command("seed-site")
@click.option("--json", "as_json", is_flag=True)
def seed_site(as_json: bool) -> None:
    """Publish the synthetic commune's public website (pages already there are left as agents changed them).

    Example: proactif assist seed-site --json
    """
    setup()
    from proactif.assist import services

    figures = services.seed_demo()
    emit(as_json, figures, lambda: click.echo(f"{figures['pages_created']} pages publiées "
                                              f"({figures['pages']} pages dans la recherche)."))


@assist.command()
@click.option("--json", "as_json", is_flag=True)
def reindex(as_json: bool) -> None:
    """Rebuild the site's search index from the published pages (after an upgrade of the analysis).

    Example: proactif assist reindex
    """
    setup()
    from proactif.assist import services

    pages = services.reindex()
    emit(as_json, {"pages": pages}, lambda: click.echo(f"{pages} pages indexées."))


@assist.command("evaluate-search")
@click.option("--json", "as_json", is_flag=True)
def evaluate_search(as_json: bool) -> None:
    """Recall@5 of the site's search on the committed query set (a third with typos, a third without accents),
    on this database (SQLite, or PostgreSQL with DATABASE_URL); the demo site must be published.

    Example: DATABASE_URL=postgres://localhost/proactif proactif assist evaluate-search --json
    """
    setup()
    from proactif.assist import services

    try:
        figures = services.evaluate_search()
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None

    def human() -> None:
        click.echo(f"{figures['database']} : rappel à 5 = {figures['recall']:.3f} sur {figures['queries']} requêtes "
                   f"(MRR {figures['mrr']:.3f}, {figures['ms_per_query']:.1f} ms par requête)")
        for kind, row in figures["by_kind"].items():
            click.echo(f"  {kind} : {row['recall']:.3f} sur {row['queries']}")
        for failure in figures["failures"]:
            click.echo(f"  manquée : {failure['query']} → attendue {failure['expected']}")

    emit(as_json, figures, human)


@assist.command("resident-link")
@click.argument("person_id", type=ID)
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 60),
              help="How long the link can be opened; each opening gives a session of 30 minutes.")
def resident_link(person_id: int, days: int) -> None:
    """A signed link to a resident's page « Ce qui vous concerne » (/site/pour-vous/), to send them.

    Example: proactif assist resident-link 42 --days 7
    """
    setup()
    from proactif.assist import services

    try:
        click.echo(services.resident_link(person_id, days=days))
    except services.ResidentLinkError as exc:
        raise click.UsageError(str(exc)) from None
