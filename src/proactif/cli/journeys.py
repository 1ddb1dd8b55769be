"""Journeys and messages from the command line: publish and migrate definitions, see where instances are,
send what is due now, see the outbox and the sinks."""

from __future__ import annotations

from pathlib import Path

import click

from proactif.cli import ID, emit, main, setup, wait_until_interrupted


@main.group()
def journeys() -> None:
    """Journey definitions and their instances."""


@journeys.command("list")
@click.option("--json", "as_json", is_flag=True)
def journeys_list(as_json: bool) -> None:
    """The published journeys, their version and their instances per status.

    Example: proactif journeys list
    """
    setup()
    from proactif.journeys import services

    rows = []
    for d in services.current_definitions():
        f = services.funnel(d.key)
        rows.append({"key": d.key, "name": d.name, "version": d.version, "service": d.service,
                     "entered": f["entered"], "statuses": f["statuses"]})
    if as_json:
        emit(True, {"journeys": rows})
        return
    for row in rows:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(row["statuses"].items())) or "aucune instance"
        click.echo(f"{row['key']} v{row['version']} ({row['service']}) — {row['name']} — {statuses}")


@journeys.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
def journeys_show(key: str, as_json: bool) -> None:
    """A journey's funnel: per step, the instances that went through it and those there now.

    Example: proactif journeys show titres-identite --json
    """
    setup()
    from proactif.journeys import services

    try:
        f = services.funnel(key)
    except services.UnknownJourney:
        raise click.ClickException(f"parcours inconnu : {key}") from None
    if as_json:
        emit(True, f)
        return
    click.echo(f"{key}: {f['entered']} entrées — "
               + ", ".join(f"{k} {v}" for k, v in sorted(f["statuses"].items())))
    for node in f["nodes"]:
        click.echo(f"  {node['node']:<28} passés {node['visited']:>7}   actuellement {node['now']:>7}   "
                   f"{node['label']}")
    for outcome, count in sorted(f["outcomes"].items()):
        click.echo(f"  issue « {outcome} » : {count}")
    for name, conversion in f["conversions"].items():
        click.echo(f"  → {name}: {conversion['count']} ({conversion['rate']} %)")


@journeys.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--draft", is_flag=True, help="Check and save as a draft, without publishing.")
@click.option("--json", "as_json", is_flag=True)
def journeys_publish(file: Path, draft: bool, as_json: bool) -> None:
    """Check a YAML definition and publish it as the journey's next version (running instances stay on
    theirs). Every problem is listed; nothing is saved when there is one.

    Example: proactif journeys publish my-journey.yaml
    """
    setup()
    from proactif.cli import cli_actor
    from proactif.journeys import services

    try:
        saved = services.save_definition(file.read_text(encoding="utf-8"), author=cli_actor().label,
                                         publish=not draft)
    except services.DefinitionError as exc:
        raise click.ClickException("définition refusée :\n  - " + "\n  - ".join(exc.messages)) from None
    emit(as_json, {"key": saved.key, "version": saved.version, "status": saved.status})


@journeys.command("migrate")
@click.argument("key")
@click.option("--to", "to_version", type=ID, required=True, help="The version to move the instances to.")
@click.option("--from", "from_version", type=ID, default=None, help="Only instances of this version.")
@click.option("--map", "mapping", multiple=True, metavar="OLD=NEW", help="Where instances at step OLD go.")
@click.option("--json", "as_json", is_flag=True)
def journeys_migrate(key: str, to_version: int, from_version: int | None, mapping: tuple[str, ...],
                     as_json: bool) -> None:
    """Move running instances to another version, mapping their steps (a step missing from the new version
    must be mapped, or nothing moves).

    Example: proactif journeys migrate titres-identite --to 2 --map attente_reponse=attente_premiere_reponse
    """
    setup()
    from proactif.journeys import services

    pairs = {}
    for item in mapping:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise click.BadParameter(f"« {item} » : attendu ANCIENNE=NOUVELLE", param_hint="--map")
        pairs[old.strip()] = new.strip()
    try:
        moved = services.migrate_instances(key, to_version, pairs, from_version)
    except services.DefinitionError as exc:
        raise click.ClickException("migration refusée :" + ("\n  - " if len(exc.messages) > 1 else " ")
                                   + "\n  - ".join(exc.messages)) from None
    emit(as_json, {"key": key, "to_version": to_version, "moved": moved})


@main.group()
def messages() -> None:
    """The outbox: send what is due, see statuses."""


@messages.command("send")
@click.option("--json", "as_json", is_flag=True)
def messages_send(as_json: bool) -> None:
    """Send every message due now, in this process, until none is due or in flight (messages held for later
    by quiet hours, caps or retries stay for the scheduler). Safe beside running workers.

    Example: proactif messages send --json
    """
    setup()
    from proactif.messaging import services

    emit(as_json, services.drain())


@messages.command("stats")
@click.option("--json", "as_json", is_flag=True)
def messages_stats(as_json: bool) -> None:
    """Messages per channel and status, and delivery statistics per provider.

    Example: proactif messages stats
    """
    setup()
    from proactif.messaging import services

    emit(as_json, services.delivery_stats())


@main.command()
@click.option("--receipts", type=click.Choice(["http", "direct", "off"]), default="http", show_default=True,
              help="http: post signed receipts to PROACTIF_PUBLIC_URL; direct: apply them in this process; off.")
@click.option("--receipt-delay", default=0.5, show_default=True, help="Seconds before a receipt is sent (http).")
def sinks(receipts: str, receipt_delay: float) -> None:
    """Run the built-in SMTP, SMS and push sinks in their own process, until interrupted (when the web
    processes run with PROACTIF_SINKS=false, or to load-test the outbox).

    Example: proactif sinks --receipts direct
    """
    setup()
    from proactif.messaging import services as messaging

    running = messaging.run_sinks(receipts, receipt_delay)
    click.echo(f"sinks: SMTP 127.0.0.1:{running.smtp_port}, SMS and push {running.http_url} "
               f"(receipts: {receipts}); Ctrl-C to stop", err=True)
    wait_until_interrupted()
    running.drain(5)
    messaging.stop_sinks()
