"""The `proactif` command: a thin layer over the services. Every command migrates a fresh database
first; batch commands take --json and print one JSON object of figures at the end (progress bars go
to stderr, only on a terminal)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import click

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proactif.settings")


def setup(migrate: bool = True) -> None:
    import django

    django.setup()
    if migrate:
        ensure_migrated()


def ensure_migrated() -> list[str]:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    plan = MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", interactive=False, verbosity=0)
    from proactif.accounts import services as accounts
    from proactif.kernel import bulkload

    bulkload.restore_deferred_indexes()  # indexes a crashed bulk load had dropped
    accounts.ensure_default_services()
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def emit(as_json: bool, figures: dict[str, Any], human: Callable[[], None] | None = None) -> None:
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, default=str))
    elif human:
        human()
    else:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2, default=str))


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr when it is a terminal; a no-op otherwise."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda _done: None
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def cli_actor() -> Any:
    from proactif.accounts.domain import system_actor

    return system_actor(f"cli:{os.environ.get('USER', 'inconnu')}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="proactif")
def main() -> None:
    """Proactif — administration proactive.

    Example: proactif demo
    """


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
@click.argument("kind", type=click.Choice(["residents", "addresses", "documents"]))
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False),
              help="Write every rejected line (line;field;reason) to this CSV file.")
@click.option("--json", "as_json", is_flag=True)
def import_command(kind: str, path: str, errors_path: str | None, as_json: bool) -> None:
    """Import a CSV file (addresses also in BAL 1.3 or BAN format).

    Every bad line is reported with its number and reason; every good line is imported.
    Re-running the same file resumes an interrupted import and changes nothing once complete.

    Example: proactif import addresses ../shared/data/bal-mock-21286-cocorico-fictional.csv --json
    """
    setup()
    from proactif.registry import services as registry
    from proactif.registry.services import CsvFormatError, HeaderError

    lines = sum(1 for _ in open(path, "rb")) - 1 if os.path.isfile(path) else None  # noqa: SIM115
    with progress_bar(f"Import {kind}", lines) as advance:
        try:
            report = registry.import_file(kind, path, started_by="cli", on_progress=advance)
        except (CsvFormatError, HeaderError) as exc:
            raise click.ClickException(str(exc)) from exc
    if errors_path:
        import csv

        with open(errors_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=";")
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


# --- running --------------------------------------------------------------------------------
DEMO_PEOPLE = [
    ("etat_civil", "agent", "Camille", "Martin", "etat-civil"),
    ("ccas", "agent", "Sofia", "Benali", "ccas"),
    ("communication", "agent", "Hugo", "Lefèvre", "communication"),
    ("police_municipale", "agent", "Karim", "Diallo", "police"),
    ("sante_prevention", "agent", "Léa", "Moreau", "sante"),
    ("dpo", "dpo", "Nadia", "Girard", "dpo"),
    ("dsi", "admin", "Thomas", "Roux", "admin"),
]
DEMO_DOMAIN = "demo.proactif.fr"


def prepare_demo(residents: int) -> dict[str, Any]:
    from proactif.accounts import services as accounts
    from proactif.registry import services as registry
    from proactif.synth import services as synth

    password = _new_password()
    logins = []
    for service, role, first, last, local in DEMO_PEOPLE:
        email = f"{local}@{DEMO_DOMAIN}"
        agent = accounts.find_agent_by_email(email)
        if agent is None:
            accounts.create_agent(email, password, service=service, role=role, first_name=first, last_name=last)
        else:
            accounts.set_agent_password(agent, password)
        logins.append({"email": email, "service": service, "role": role})
    figures: dict[str, Any] = {"agents": logins, "password": password}
    if registry.is_empty():
        with progress_bar("Habitants", residents) as advance:
            figures["seed"] = synth.seed(residents, 1, progress=lambda done, _total: advance(done))
        figures["duplicates"] = registry.suggest_duplicates()
    else:
        figures["seed"] = "registre existant conservé"
    figures["counts"] = registry.counts()
    figures["residents"] = registry.refresh_figures()["residents"]
    return figures


@main.command()
@click.option("--no-serve", is_flag=True, help="Prepare the demo and exit.")
@click.option("--residents", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def demo(no_serve: bool, residents: int, host: str, port: int, as_json: bool) -> None:
    """Everything in one process on SQLite: migrate, seed a commune, serve with the embedded executor.

    Example: proactif demo --residents 20000
    """
    setup()
    figures = prepare_demo(residents)
    url = f"http://{host}:{port}/"
    figures["url"] = url
    login = next(a for a in figures["agents"] if a["service"] == "etat_civil")

    def human() -> None:
        click.echo(f"\nProactif est prêt : {figures['residents']:,} habitants résidents.".replace(",", " "))
        click.echo(f"  Adresse : {url}")
        click.echo(f"  Connexion : {login['email']}  mot de passe : {figures['password']}")
        click.echo("  Autres comptes (même mot de passe) : "
                   + ", ".join(a["email"] for a in figures["agents"] if a is not login))

    emit(as_json, figures, human)
    if not no_serve:
        _collectstatic()
        from proactif.server import serve

        serve(host, port, workers=1, embedded_work=True)


def _collectstatic() -> None:
    from django.conf import settings
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    (settings.STATIC_ROOT / "staticfiles.ok").touch()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Web worker processes.")
@click.option("--threads", default=8, show_default=True, help="Threads per web worker.")
@click.option("--no-background", is_flag=True, help="Do not run the scheduler/executor in the web workers "
              "(when `proactif scheduler` and `proactif worker` run separately).")
def serve(host: str, port: int, workers: int, threads: int, no_background: bool) -> None:
    """Serve the web interface and the API.

    Example: proactif serve --host 0.0.0.0 --port 8000 --workers 4
    """
    setup()
    _collectstatic()
    from django.conf import settings

    from proactif.server import serve as run

    run(host, port, workers=workers, threads=threads, embedded_work=not no_background,
        executor_threads=settings.EXECUTOR_THREADS)


@main.command()
@click.option("--queues", default="urgent,transactional,bulk,batch", show_default=True,
              help="Lanes this worker consumes (run dedicated urgent workers in production).")
@click.option("--concurrency", default=2, show_default=True)
@click.option("--hostname", default=None, help="Celery node name (default: proactif@<host>).")
def worker(queues: str, concurrency: int, hostname: str | None) -> None:
    """Consume tasks from RabbitMQ (needs PROACTIF_BROKER_URL).

    Example: PROACTIF_BROKER_URL=amqp://guest:guest@rabbit// proactif worker --queues urgent --concurrency 4
    """
    setup()
    from proactif.kernel.celery_app import get_app

    try:
        app = get_app()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    from proactif.kernel.celery_app import queue_name

    lanes = ",".join(queue_name(lane.strip()) for lane in queues.split(",") if lane.strip())
    argv = ["worker", "-Q", lanes, "-c", str(concurrency), "--loglevel", "WARNING", "--without-gossip",
            "--without-mingle"]
    if hostname:
        argv += ["-n", hostname]
    app.worker_main(argv)


@main.command()
@click.option("--interval", default=15.0, show_default=True, help="Seconds between two claims of due work.")
def scheduler(interval: float) -> None:
    """Claim due work and hand it to the executor (Celery when PROACTIF_BROKER_URL is set).

    Several schedulers may run: claims are leases in the database, so no job runs twice.

    Example: proactif scheduler --interval 10
    """
    setup()
    from django.conf import settings

    from proactif.kernel import executor
    from proactif.kernel.runner import SchedulerLoop

    if not settings.BROKER_URL:
        executor.set_backend(executor.EmbeddedBackend(settings.EXECUTOR_THREADS))
    SchedulerLoop(interval).run_forever()


@main.command()
@click.option("--now", "at", default=None, help="Run as if it were this moment (ISO date or datetime).")
@click.option("--json", "as_json", is_flag=True)
def tick(at: str | None, as_json: bool) -> None:
    """Run the work that is due once, then exit.

    Example: proactif tick --json
    """
    setup()
    from proactif.kernel import clock, executor
    from proactif.kernel import scheduler as jobs

    moment = _parse_moment(at) if at else None
    executor.set_backend(executor.default_backend())
    if moment is not None:
        with clock.use(clock.FixedClock(moment)):
            figures = jobs.tick()
    else:
        figures = jobs.tick()
    emit(as_json, figures)


def _parse_moment(text: str) -> datetime:
    from proactif.kernel import clock

    try:
        if len(text) == 10:
            return clock.local_datetime(date.fromisoformat(text), 9)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"date invalide : {text}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.LOCAL_TZ)


@main.command()
@click.option("--until", "until", required=True, help="Last day to simulate (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True)
def simulate(until: str, as_json: bool) -> None:
    """Advance the clock day by day to UNTIL, running the work that falls due.

    The offset is kept so the web interface shows the simulated date (`proactif clock reset`).

    Example: proactif simulate --until 2027-11-28 --json
    """
    setup()
    from proactif.kernel import clock, simulation

    try:
        end = date.fromisoformat(until)
    except ValueError as exc:
        raise click.BadParameter(f"date invalide : {until}") from exc
    total = max(1, (end - clock.today()).days + 1)
    with progress_bar("Jours simulés", total) as advance:
        days = [0]

        def on_day(_day: date, _ran: list[str]) -> None:
            days[0] += 1
            advance(days[0])

        try:
            figures = simulation.simulate(end, on_day=on_day)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    emit(as_json, figures)


@main.group()
def clock() -> None:
    """Show or reset the simulated clock."""


@clock.command("show")
def clock_show() -> None:
    """Example: proactif clock show"""
    setup()
    from proactif.kernel import clock as clk

    click.echo(json.dumps({"now": clk.now().isoformat(), "real": clk.real_now().isoformat(),
                           "offset_seconds": int(clk.system_clock().offset().total_seconds())}))


@clock.command("reset")
def clock_reset() -> None:
    """Example: proactif clock reset"""
    setup()
    from proactif.kernel import simulation

    simulation.reset_offset()
    click.echo("horloge remise à l'heure réelle")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def purge(as_json: bool) -> None:
    """Apply the retention rules now (also run nightly by the scheduler).

    Example: proactif purge --json
    """
    setup()
    from proactif.audit.tasks import retention_purge

    emit(as_json, retention_purge())


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
    """GDPR rights: access (art. 15) and erasure (art. 17)."""


@gdpr.command("export")
@click.argument("person_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def gdpr_export(person_id: int, out: str | None) -> None:
    """Everything held on a person, as JSON (logged in the access log).

    Example: proactif gdpr export 42 --out personne-42.json
    """
    setup()
    from proactif.audit import gdpr as rights

    data = json.dumps(rights.export_person(cli_actor(), person_id), ensure_ascii=False, indent=2, default=str)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(data)
    else:
        click.echo(data)


@gdpr.command("erase")
@click.argument("person_id", type=int)
@click.option("--reason", required=True, help="The request's reference and reason.")
@click.option("--dry-run", is_flag=True, help="Show the plan without applying it.")
@click.option("--json", "as_json", is_flag=True)
def gdpr_erase(person_id: int, reason: str, dry_run: bool, as_json: bool) -> None:
    """Erase or anonymise a person's data where the legal basis allows it.

    Example: proactif gdpr erase 42 --reason "demande n° 2026-118 du 12/11/2026"
    """
    setup()
    from proactif.audit import gdpr as rights

    if dry_run:
        emit(as_json, {"plan": [item.__dict__ for item in rights.erasure_plan(person_id)]})
        return
    emit(as_json, rights.erase_person(cli_actor(), person_id, reason))


@main.group()
def agent() -> None:
    """Agents of the collectivité."""


@agent.command("create")
@click.argument("email")
@click.option("--service", required=True, help="Service code (etat_civil, ccas, communication, …).")
@click.option("--role", default="agent", type=click.Choice(["agent", "responsable", "dpo", "admin"]))
@click.option("--first-name", default="")
@click.option("--last-name", default="")
def agent_create(email: str, service: str, role: str, first_name: str, last_name: str) -> None:
    """Create an agent; the password is read from PROACTIF_AGENT_PASSWORD or generated and printed once.

    Example: proactif agent create c.martin@mairie.example.fr --service etat_civil
    """
    setup()
    from proactif.accounts import services as accounts

    password = os.environ.get("PROACTIF_AGENT_PASSWORD") or _new_password()
    try:
        accounts.create_agent(email, password, service=service, role=role, first_name=first_name,
                              last_name=last_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"agent créé : {email}" + ("" if "PROACTIF_AGENT_PASSWORD" in os.environ else
                                          f" — mot de passe : {password}"))


@agent.command("unlock")
@click.argument("email")
def agent_unlock(email: str) -> None:
    """Example: proactif agent unlock c.martin@mairie.example.fr"""
    setup()
    from proactif.accounts import services as accounts

    found = accounts.find_agent_by_email(email)
    if found is None:
        raise click.ClickException(f"agent inconnu : {email}")
    accounts.unlock_agent(found.pk)
    click.echo(f"compte déverrouillé : {email}")


@main.group()
def apikey() -> None:
    """API keys for machine clients."""


@apikey.command("create")
@click.option("--service", required=True)
@click.option("--name", required=True)
@click.option("--kind", default="test", type=click.Choice(["live", "test"]), show_default=True)
@click.option("--scope", "scopes", multiple=True, required=True, help="registry:read, registry:write, audit:read")
def apikey_create(service: str, name: str, kind: str, scopes: tuple[str, ...]) -> None:
    """Create a key; its token is printed once.

    Example: proactif apikey create --service etat_civil --name "logiciel état civil" --kind live --scope registry:read
    """
    setup()
    from proactif.accounts import services as accounts

    try:
        key, token = accounts.create_api_key(service, name, kind, list(scopes))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"id": key.pk, "token": token, "scopes": key.scopes, "kind": key.kind}))


@apikey.command("revoke")
@click.argument("key_id", type=int)
def apikey_revoke(key_id: int) -> None:
    """Example: proactif apikey revoke 3"""
    setup()
    from proactif.accounts import services as accounts

    accounts.revoke_api_key(key_id)
    click.echo(f"clé {key_id} révoquée")


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


if __name__ == "__main__":
    sys.exit(main())
