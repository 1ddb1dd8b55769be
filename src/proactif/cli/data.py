"""Data commands: init, seed, import, purge, identity resolution, GDPR rights."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from proactif.cli import ID, cli_actor, emit, ensure_migrated, main, progress_bar, setup


# --- set-up ---------------------------------------------------------------------------------
@main.command()
@click.option("--admin-email", help="Create (or reset) an administrator with this e-mail.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
def init(admin_email: str | None, as_json: bool) -> None:
    """Migrate the database and create the default services (and an administrator).

    Example: proactif init --admin-email dsi@mairie.example.fr
    """
    import django

    django.setup()
    applied = ensure_migrated()
    figures: dict[str, Any] = {"migrations_applied": len(applied)}
    if admin_email:
        from proactif.accounts import services as accounts

        password = os.environ.get("PROACTIF_ADMIN_PASSWORD") or _new_password()
        agent = accounts.find_agent_by_email(admin_email)
        if agent is None:
            agent = accounts.create_agent(admin_email, password, service="dsi", role="admin",
                                          last_name="Administrateur")
        else:
            accounts.set_agent_password(agent, password)
        figures["admin"] = {"email": agent.email, "password": password if "PROACTIF_ADMIN_PASSWORD" not in os.environ
                            else "(PROACTIF_ADMIN_PASSWORD)"}
    emit(as_json, figures)


def _new_password() -> str:
    from proactif.accounts.services import new_password

    return new_password()


@main.command()
@click.option("--residents", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", "seed_value", default=1, show_default=True, help="Same seed, same commune.")
@click.option("--reset", is_flag=True, help="Replace the residents already in the registry.")
@click.option("--duplicates", default=0.002, show_default=True, type=click.FloatRange(0, 0.2),
              help="Share of residents also keyed by another source with a typo (for identity resolution).")
@click.option("--json", "as_json", is_flag=True)
def seed(residents: int, seed_value: int, reset: bool, duplicates: float, as_json: bool) -> None:
    """Fill the registry with a synthetic commune.

    Example: proactif seed --residents 1000000 --seed 7 --json
    """
    setup()
    from proactif.synth import services as synth

    with progress_bar("Habitants", residents) as advance:
        try:
            figures = synth.seed(residents, seed_value, reset=reset, duplicate_rate=duplicates,
                                 progress=lambda done, _total: advance(done))
        except synth.SeedError as exc:
            raise click.ClickException(str(exc)) from exc
    emit(as_json, figures)


@main.command("import")
@click.argument("kind", type=click.Choice(["residents", "addresses", "documents", "resources", "benefits"]))
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="Write every rejected line (line;field;reason) to this CSV file.")
@click.option("--json", "as_json", is_flag=True)
def import_command(kind: str, path: str, errors_path: str | None, as_json: bool) -> None:
    """Import a CSV file (addresses also in BAL 1.3 or BAN format).

    Every bad line is reported with its number and reason; every good line is imported.
    Re-running the same file resumes an interrupted import and changes nothing once complete.

    Example: proactif import addresses data/bal-mock-21286-cocorico-fictional.csv --json
    """
    setup()
    from proactif.registry import services as registry
    from proactif.registry.services import CsvFormatError, HeaderError

    lines = sum(1 for _ in open(path, "rb")) - 1 if os.path.isfile(path) else None  # noqa: SIM115
    with progress_bar(f"Import {kind}", lines) as advance:
        try:
            report = registry.import_file(kind, path, actor=cli_actor(), on_progress=advance)
        except (CsvFormatError, HeaderError) as exc:
            raise click.ClickException(str(exc)) from exc
    if errors_path:
        from proactif.kernel import csvexport

        with open(errors_path, "w", newline="", encoding="utf-8") as handle:
            writer = csvexport.writer(handle)
            writer.writerow(["ligne", "champ", "motif"])
            writer.writerows((r.line, r.field, r.reason) for r in report.rejections)
    figures = report.as_dict()

    def human() -> None:
        click.echo(f"{figures['lines']} lignes : {figures['created']} créées, {figures['updated']} mises à jour, "
                   f"{figures['unchanged']} inchangées, {figures['rejected_lines']} rejetées"
                   + (f", {figures['skipped']} ignorées (positions secondaires)" if figures["skipped"] else ""))
        for error in report.rejections[:50]:
            click.echo(f"  ligne {error.line} — {error.field} : {error.reason}")
        if len(report.rejections) > 50:
            click.echo(f"  … {len(report.rejections) - 50} autres (--errors FICHIER pour la liste complète)")

    emit(as_json, figures, human)


@main.command()
@click.option("--json", "as_json", is_flag=True)
def purge(as_json: bool) -> None:
    """Apply the retention rules now (also run nightly by the scheduler).

    Example: proactif purge --json
    """
    setup()
    from proactif.audit import services as audit

    emit(as_json, audit.retention_purge())


# --- identity, GDPR, accounts ---------------------------------------------------------------
@main.group()
def identity() -> None:
    """Identity resolution."""


@identity.command("suggest")
@click.option("--threshold", default=0.5, show_default=True, type=click.FloatRange(0, 1))
@click.option("--json", "as_json", is_flag=True)
def identity_suggest(threshold: float, as_json: bool) -> None:
    """Find probable duplicates for agents to confirm.

    Example: proactif identity suggest --json
    """
    setup()
    from proactif.registry import services as registry

    emit(as_json, registry.suggest_duplicates(threshold))


@main.group()
def gdpr() -> None:
    """GDPR rights — access (article 15) and erasure (article 17)."""


@gdpr.command("export")
@click.argument("person_id", type=ID)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def gdpr_export(person_id: int, out: str | None) -> None:
    """Everything held on a person, as JSON (logged in the access log).

    Example: proactif gdpr export 42 --out personne-42.json
    """
    setup()
    from proactif.audit import services as rights

    try:
        exported = rights.export_person(cli_actor(), person_id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    data = json.dumps(exported, ensure_ascii=False, indent=2, default=str)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(data)
    else:
        click.echo(data)


@gdpr.command("erase")
@click.argument("person_id", type=ID)
@click.option("--reason", required=True, help="The request's reference and reason.")
@click.option("--dry-run", is_flag=True, help="Show the plan without applying it.")
@click.option("--json", "as_json", is_flag=True)
def gdpr_erase(person_id: int, reason: str, dry_run: bool, as_json: bool) -> None:
    """Erase or anonymise a person's data where the legal basis allows it.

    Example: proactif gdpr erase 42 --reason "demande n° 2026-118 du 12/11/2026"
    """
    setup()
    from proactif.audit import services as rights

    try:
        if dry_run:
            emit(as_json, {"plan": [item.__dict__ for item in rights.erasure_plan(person_id)]})
            return
        emit(as_json, rights.erase_person(cli_actor(), person_id, reason))
    except (LookupError, ValueError) as exc:  # an unknown person, an empty reason
        raise click.ClickException(str(exc)) from None


