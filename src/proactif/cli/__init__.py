"""The `proactif` command: a thin layer over the services. Every command migrates a fresh database
first; batch commands take --json and print one JSON object of figures at the end (progress bars go
to stderr, only on a terminal)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from proactif.kernel.ids import MAX_ID

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proactif.settings")

# A row id (person, incident, run, key…) or a version: a number past a BIGINT is refused like a typo.
ID = click.IntRange(1, MAX_ID)


def setup(migrate: bool = True) -> None:
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()  # reads the settings: a bad variable (time zone, shipped secrets…) is one line, no traceback
    except (ImproperlyConfigured, ValueError) as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    if migrate:
        ensure_migrated()


MIGRATION_LOCK = 7_402_281  # PostgreSQL advisory lock: workers starting together migrate once


def ensure_migrated() -> list[str]:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    locked = connection.vendor == "postgresql"
    if locked:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    from proactif.kernel import bulkload
    from proactif.kernel.install import install

    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            call_command("migrate", interactive=False, verbosity=0)
        bulkload.restore_deferred_indexes()  # indexes a crashed bulk load had dropped
        install()  # reference data (services, shipped templates and journeys): one process at a time too
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def wait_until_interrupted() -> None:
    """Block until Ctrl-C or SIGTERM (for the commands that serve until stopped)."""
    import signal
    import threading

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


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


class UsageLine(click.ClickException):
    """A usage error told in one line (the option and what is wrong, and where the help is); exit status 2."""

    exit_code = 2


class Commands(click.Group):
    """The command tree, with every usage error (a bad value, a missing argument, an unknown option) told in
    one line rather than the usage block: bad input gets one clear line, for scripts and humans alike."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise  # a group called alone: its help
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise  # a group called alone: its help
        except click.UsageError as exc:
            raise _one_line(exc) from None


def _one_line(exc: click.UsageError) -> UsageLine:
    where = f" (aide : {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
    return UsageLine(" ".join(exc.format_message().split()) + where)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="proactif")
def main() -> None:
    """Proactif — administration proactive.

    Example: proactif demo
    """


# The commands live in the modules below; importing them registers them on `main`.
from proactif.cli import admin, data, running, benchmarks, journeys, connectors, rights, geo, alerts, watch, assist  # noqa: E402,F401,I001
