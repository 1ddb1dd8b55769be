"""Running Proactif: demo, serve, worker, scheduler, tick, simulate, clock."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click

from proactif.cli import emit, main, progress_bar, setup
from proactif.cli.data import _new_password

# --- running --------------------------------------------------------------------------------
DEMO_PEOPLE = [
    ("etat_civil", "responsable", "Camille", "Martin", "etat-civil"),
    ("ccas", "agent", "Sofia", "Benali", "ccas"),
    ("communication", "agent", "Hugo", "Lefèvre", "communication"),
    ("police_municipale", "agent", "Karim", "Diallo", "police"),
    # a second police account: an alert to more residents than PROACTIF_ALERT_APPROVAL_THRESHOLD waits for
    # another agent's approval
    ("police_municipale", "responsable", "Inès", "Carpentier", "chef-police"),
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
    from proactif.assist import services as assist

    figures["site"] = assist.seed_demo()  # the synthetic commune's public website (/site/), once
    from proactif.journeys import services as journeys

    # Start the date journeys now rather than at tomorrow's 06:00 run: the server's scheduler advances them
    # (and sends the first messages to the sinks) as soon as it starts
    figures["journeys_entered"] = journeys.enter_due()
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
    if not no_serve:
        _check_port_free(host, port)  # before minutes of set-up, not after
    _demo_environment(host, port)
    setup()
    figures = prepare_demo(residents)
    url = f"http://{host}:{port}/"
    figures["url"] = url
    from django.conf import settings

    figures["citizen_links"] = settings.PUBLIC_URL
    from proactif.assist import services as assist_services

    found = assist_services.demo_resident_link()
    if found is not None:
        figures["resident_link"] = found[1]
    from proactif.kernel import clock

    figures["quiet_hours"] = quiet_note(clock.now())
    figures["sinks"] = {"smtp_port": settings.SINK_SMTP_PORT, "http_port": settings.SINK_HTTP_PORT}
    login = next(a for a in figures["agents"] if a["service"] == "etat_civil")
    devices = None
    if settings.DEMO_DEVICES and not no_serve:
        from proactif.watch import demo_devices

        try:  # the devices' last 48 hours on the first start; the ingester when the MQTT broker answers
            devices = demo_devices.start()
            figures["demo_devices"] = devices.figures
        except ValueError as exc:  # no one registered in so small a commune: the demo runs without them
            figures["demo_devices"] = {"note": str(exc)}

    def human() -> None:
        def number(n: int) -> str:
            return f"{n:,}".replace(",", "\u202f")

        seeded = figures["seed"].get("residents") if isinstance(figures["seed"], dict) else None
        gone = (f", sur {number(seeded)} personnes générées : {number(seeded - figures['residents'])} ont "
                "déménagé ou sont décédées") if seeded and seeded > figures["residents"] else ""
        click.echo(f"\nProactif est prêt : {number(figures['residents'])} habitants résidents{gone}.")
        click.echo(f"  Adresse : {url}")
        click.echo(f"  Site public de la commune : {url.rstrip('/')}/site/ ({figures['site']['pages']} pages ; "
                   f"éditeur : {url.rstrip('/')}/cms/ avec le compte communication@{DEMO_DOMAIN})")
        if figures.get("resident_link"):
            click.echo(f"  Page « Ce qui vous concerne » d'un habitant (lien signé, 30 minutes) : "
                       f"{figures['resident_link']}")
        if figures.get("quiet_hours"):
            click.echo(figures["quiet_hours"])
        click.echo(f"  Connexion : {login['email']}  mot de passe : {figures['password']}")
        click.echo("  Autres comptes (même mot de passe) : "
                   + ", ".join(a["email"] for a in figures["agents"] if a is not login))
        if devices is not None:
            click.echo(devices.banner())

    emit(as_json, figures, human)
    if not no_serve:
        _collectstatic()
        from proactif.server import serve

        try:
            serve(host, port, workers=1, embedded_work=True)
        finally:
            if devices is not None:
                devices.stop()


def quiet_note(now: datetime) -> str:
    """What a newcomer starting the demo at night or on a Sunday must know: when the first messages leave."""
    from proactif.kernel import clock
    from proactif.kernel.text import date_fr
    from proactif.messaging import services as messaging

    at = messaging.next_sending_time(now)
    if at is None:
        return ""
    local = at.astimezone(clock.local_tz())
    return (f"  Heures calmes : les messages non urgents partiront le {date_fr(local.date(), weekday=True)} à "
            f"{local:%Hh%M} (PROACTIF_QUIET_HOURS, PROACTIF_SEND_ON_SUNDAYS) ; les alertes partent tout de suite.")


def _check_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise click.ClickException(f"le port {port} est déjà utilisé sur {host} : choisissez-en un autre "
                                       f"(make demo PORT={port + 1}, ou proactif demo --port {port + 1})") from None


def _demo_environment(host: str, port: int) -> None:
    """The demo's links and sinks follow the port it serves (unless configured): the citizen links point at it,
    and the built-in sinks listen on the port + 25 and + 26, so that two demos run side by side."""
    import os

    os.environ.setdefault("PROACTIF_PUBLIC_URL", f"http://{host}:{port}")
    os.environ.setdefault("PROACTIF_DEMO_DEVICES", "true")  # the home devices report live (docs/watch-demo.md)
    if port != 8000:
        os.environ.setdefault("PROACTIF_SINK_SMTP_PORT", str(port + 25))
        os.environ.setdefault("PROACTIF_SINK_HTTP_PORT", str(port + 26))


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
    if workers > 1:
        from proactif.server import share_metrics_between_workers

        share_metrics_between_workers()
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
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.local_tz())


@main.command()
@click.option("--until", "until", required=True, help="Last day to simulate (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True)
def simulate(until: str, as_json: bool) -> None:
    """Advance the clock day by day to UNTIL, running the work that falls due.

    The offset is kept so the web interface shows the simulated date (`proactif clock reset`).

    Example: proactif simulate --until 2027-11-28 --json
    """
    setup()
    from proactif.kernel import clock, install, simulation

    try:
        end = date.fromisoformat(until)
    except ValueError as exc:
        raise click.BadParameter(f"date invalide : {until}") from exc
    total = max(1, (end - clock.today()).days + 1)
    install.start_alongside(simulation=True)
    try:
        with progress_bar("Jours simulés", total) as advance:
            days = [0]

            def on_day(_day: date, _ran: list[str]) -> None:
                days[0] += 1
                advance(days[0])

            try:
                figures = simulation.simulate(end, on_day=on_day)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
    finally:
        install.stop_alongside()
    figures.update(simulation.report())
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


