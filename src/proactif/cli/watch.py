"""Watch over vulnerable people: one command per task under `proactif watch`."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from proactif.cli import emit, main, setup
from proactif.watch.news2 import BAND_LABELS, LABELS, MAX_SCORE, UNITS, News2, ObservationError, Observations, score


@main.group()
def watch() -> None:
    """Watch over vulnerable people: the register (L121-6-1 CASF), the heatwave and cold-wave plans, early
    warning scores."""


class Measure(click.ParamType):
    """A measured value as typed at a French keyboard or a US one (37,5 or 37.5), kept exact as a Decimal; whether
    it suits the parameter (whole, in range) is the domain's call, so the message is the same everywhere."""

    name = "nombre"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            option = param.opts[0] if param is not None else "valeur"
            raise click.UsageError(f"{option} — « {value} » n'est pas un nombre", ctx)
        return number


# --- NEWS2 ---------------------------------------------------------------------------------------

# An Observations field → the option that carries it, to name the option in an error
NEWS2_OPTIONS = {"respiration_rate": "--rr", "spo2": "--spo2", "spo2_scale": "--scale", "oxygen": "--oxygen",
                 "systolic_bp": "--sbp", "pulse": "--hr", "consciousness": "--acvpu", "temperature": "--temp"}


@watch.command("news2")
@click.option("--rr", required=True, type=Measure(), help="Respiration rate, per minute.")
@click.option("--spo2", required=True, type=Measure(), help="Oxygen saturation, %.")
@click.option("--scale", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="SpO2 scale: 2 only for hypercapnic respiratory failure, on a clinician's decision.")
@click.option("--oxygen", is_flag=True, help="On supplemental oxygen (default: air).")
@click.option("--sbp", required=True, type=Measure(), help="Systolic blood pressure, mmHg.")
@click.option("--hr", required=True, type=Measure(), help="Pulse, per minute.")
@click.option("--acvpu", required=True, metavar="A|C|V|P|U",
              help="Consciousness: Alert, new Confusion, Voice, Pain, Unresponsive (any case).")
@click.option("--temp", required=True, type=Measure(), help="Temperature, °C, decimals allowed (37.5 or 37,5).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def news2(rr: Decimal, spo2: Decimal, scale: str, oxygen: bool, sbp: Decimal, hr: Decimal, acvpu: str,
          temp: Decimal, as_json: bool) -> None:
    """Compute the NEWS2 (Royal College of Physicians, 2017) of one set of vital signs: each parameter's points,
    the aggregate score 0–20 and the clinical risk band (low, low-medium, medium, high). Needs no database.
    A score prompts someone to look; it is not a diagnosis (an emergency is the SAMU's, 15).

    Example: proactif watch news2 --rr 22 --spo2 95 --sbp 105 --hr 112 --acvpu A --temp 38.4 --json
    """
    try:
        result = score(Observations(respiration_rate=rr, spo2=spo2, spo2_scale=int(scale), oxygen=oxygen,
                                    systolic_bp=sbp, pulse=hr, consciousness=acvpu, temperature=temp))
    except ObservationError as exc:
        raise click.UsageError(f"{NEWS2_OPTIONS[exc.field]} — {exc}") from None
    emit(as_json, result.as_dict(), lambda: _print_news2(result))


def _print_news2(result: News2) -> None:
    click.echo(f"NEWS2 : {result.score} sur {MAX_SCORE} — risque clinique {BAND_LABELS[result.band]}")
    for name, parameter in result.parameters.items():
        label = LABELS[name] + (f" (échelle {result.spo2_scale})" if name == "spo2" else "")
        if name == "air_or_oxygen":
            value = "oxygène" if parameter.value == "oxygen" else "air"
        else:
            value = str(parameter.value).replace(".", ",") + (f" {UNITS[name]}" if name in UNITS else "")
        points = "point" if parameter.points < 2 else "points"
        click.echo(f"  {label:<32} {value:<16} {parameter.points} {points}")
    click.echo("Un score n'est pas un diagnostic : en cas d'urgence vitale, appelez le 15 (SAMU).")


# --- the heatwave and cold-wave plans -----------------------------------------------------------------------
def _record(departement: str, level: str, phenomenon: str, as_json: bool) -> None:
    setup()
    from proactif.accounts.domain import system_actor
    from proactif.watch import services

    try:
        result = services.record_level(system_actor("cli"), departement, phenomenon, level, source="cli")
    except services.PlanError as exc:
        raise click.UsageError(str(exc)) from None
    emit(as_json, result)


@watch.command("heatwave")
@click.option("--departement", required=True, help="Département code (75, 2A, 971).")
@click.option("--level", required=True, help="Météo-France canicule vigilance: vert, jaune, orange, rouge (or 1–4).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def heatwave(departement: str, level: str, as_json: bool) -> None:
    """Record the canicule vigilance of a département and do what it says: yellow prepares the call lists;
    orange and red start (or raise) the plan and today's round of contacts; green lifts the plan. A département
    that is not the collectivité's (PROACTIF_WATCH_DEPARTEMENTS) is recorded and starts nothing. Prints
    departement, level, plan, registered, to_contact_today, call_list, started.

    Example: proactif watch heatwave --departement 75 --level orange --json
    """
    _record(departement, level, "canicule", as_json)


@watch.command("coldwave")
@click.option("--departement", required=True, help="Département code (75, 2A, 971).")
@click.option("--level", required=True, help="Météo-France grand froid vigilance: vert, jaune, orange, rouge (or 1–4).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def coldwave(departement: str, level: str, as_json: bool) -> None:
    """The same as `heatwave`, for the grand froid vigilance.

    Example: proactif watch coldwave --departement 67 --level orange --json
    """
    _record(departement, level, "grand_froid", as_json)


@watch.command("vigilance")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def vigilance_file(path: str, as_json: bool) -> None:
    """Import a Météo-France vigilance file (the public JSON of the vigilance API or the CDP_CARTE_EXTERNE archive,
    or the former XML): the canicule and grand froid levels of today apply like `heatwave` and `coldwave`.

    Example: proactif watch vigilance data/vigilance/vigilance-canicule-2026-07-sample.json --json
    """
    setup()
    from proactif.accounts.domain import system_actor
    from proactif.watch import services

    with open(path, "rb") as handle:
        data = handle.read(services.VIGILANCE_MAX_BYTES + 1)
    try:
        results = services.import_vigilance(system_actor("cli"), data, source="fichier")
    except services.PlanError as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, {"levels": results, "started": sum(1 for r in results if r["started"])})


# --- the register -------------------------------------------------------------------------------------------
@watch.command("register-consents")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def register_consents(as_json: bool) -> None:
    """Turn the former « veille santé » consents into enrolments in the register (each person gets the
    acknowledgement, which says how to object); consents of persons the rules do not admit are counted, not
    enrolled. Idempotent.

    Example: proactif watch register-consents --json
    """
    setup()
    from proactif.accounts.domain import system_actor
    from proactif.watch import services

    emit(as_json, services.enrol_from_consents(system_actor("cli")))


@watch.command("import-transmission")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--source", required=True, type=click.Choice(["apa", "pch", "carsat"]),
              help="Who transmits: the département (APA at home, PCH) or the CARSAT.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_transmission(path: str, source: str, as_json: bool) -> None:
    """Enrol the beneficiaries a département or the CARSAT transmits (art. L121-6-1 CASF, loi 2024-317): columns
    nom;prenoms;date_naissance, and optionally nir, telephone, service_domicile, opposition (« oui »: the person
    objected, the line is set aside). Residents are found by the NIR or the exact name and birth date; those who
    objected to the register, are not found or fall outside art. R121-3 are reported line by line; each person
    enrolled gets the acknowledgement. Running the same file again enrols no one twice.

    Example: proactif watch import-transmission apa-2026-06.csv --source apa --json
    """
    setup()
    from proactif.accounts.domain import system_actor
    from proactif.watch import services

    try:
        report = services.import_transmission(system_actor("cli"), source, path)
    except services.WatchError as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, report)


@watch.command("register")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def register_figures(as_json: bool) -> None:
    """The register's size by quality and requester (counts only: nobody named).

    Example: proactif watch register --json
    """
    setup()
    from proactif.watch import services

    emit(as_json, services.figures())


@watch.command("simulate-devices")
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 10_000), help="Devices simulated.")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1, 24 * 30), help="Hours of readings.")
@click.option("--episodes", default=2, show_default=True, type=click.IntRange(0, 1000),
              help="Deteriorations injected (sepsis-like, not up, fall, silent device in turn).")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True, help="MQTT broker.")
@click.option("--port", default=1883, show_default=True, type=click.IntRange(1, 65535))
@click.option("--speed", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Messages per second (0: as fast as the broker takes them).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def simulate_devices(count: int, hours: int, episodes: int, seed: int, host: str, port: int, speed: float,
                     as_json: bool) -> None:
    """Synthetic home devices lent to registered persons publish realistic vitals over MQTT (daily rhythms,
    noise, lost messages, silent devices, deteriorations at known times, the last reading now) and are ingested
    here; prints what was published, stored and refused, the alerts the rules opened and the episodes caught.

    Example: proactif watch simulate-devices --count 20 --hours 48 --episodes 4 --json
    """
    setup()
    from proactif.watch import services

    try:
        figures = services.simulate_devices(count, hours, episodes, seed, host=host, port=port, speed=speed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, figures)


@watch.command("ingest")
@click.option("--url", default=None, help="MQTT broker (default: PROACTIF_MQTT_URL).")
@click.option("--client-id", default="proactif-ingester", show_default=True,
              help="The persistent session's id: the broker keeps what arrives while the ingester is away.")
def ingest(url: str | None, client_id: str) -> None:
    """Store the home devices' MQTT messages until stopped (SIGTERM or Ctrl-C): a persistent session, QoS 1,
    each message acknowledged once its readings are committed. Prints its counts every minute and at the end.

    Example: PROACTIF_MQTT_URL=mqtts://ingester:secret@mqtt.example.fr:8883 proactif watch ingest
    """
    import signal
    import threading

    setup()
    from django.conf import settings

    from proactif.watch import services

    try:
        ingester = services.ingester_from_url(url or settings.MQTT_URL, ca_file=settings.MQTT_CA_FILE,
                                              client_id=client_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    where = f"{ingester.host}:{ingester.port}"
    click.echo(f"ingesteur MQTT : {where}{' (TLS)' if ingester.tls else ''}, session {client_id}", err=True)

    def report(counts: dict[str, int]) -> None:
        click.echo(json.dumps(counts), err=True)

    try:
        counts = services.run_ingester(ingester, stop, report)
    except OSError as exc:
        raise click.ClickException(f"broker MQTT injoignable ({where}) : {exc.strerror or exc}") from None
    except services.IngesterRefused as exc:
        raise click.ClickException(f"broker MQTT ({where}) : {exc}") from None
    click.echo(json.dumps(counts))


# --- the devices and their broker -------------------------------------------------------------------------
def _broker() -> Any:
    """The devices' lifecycle and the broker's files (watch's `_broker`)."""
    setup()
    from proactif.watch import services

    return _Broker(services)


class _Broker:
    """watch's device and broker functions under the names the commands use."""

    def __init__(self, services: Any):
        self.BrokerError = services.BrokerError
        self.add_device, self.renew_token = services.add_device, services.renew_token
        self.revoke_device, self.devices = services.revoke_device, services.devices
        self.write_config = services.write_broker_config


def _password_file(option: str | None) -> Any:
    from pathlib import Path

    from django.conf import settings

    chosen = option if option is not None else settings.MQTT_PASSWORD_FILE
    return Path(chosen) if chosen else None


@watch.group("devices")
def devices() -> None:
    """Home devices: register one (its token, also its MQTT password), revoke one, list them."""


@devices.command("add")
@click.argument("serial")
@click.option("--kind", required=True, help="constantes, oxymetre, tensiometre, thermometre, mouvement, presence, "
                                            "chute or bouton.")
@click.option("--interval", default=300, show_default=True, type=click.IntRange(10, 7 * 24 * 3600),
              help="Seconds between two reports: the device is missing once silent for longer.")
@click.option("--password-file", default=None, type=click.Path(dir_okay=False),
              help="The broker's password file where its MQTT credential goes (default: PROACTIF_MQTT_PASSWORD_FILE; "
                   "empty: none written).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def devices_add(serial: str, kind: str, interval: int, password_file: str | None, as_json: bool) -> None:
    """Register a device and print its own token — ONCE: only its hash is kept. The token is the device's MQTT
    password (username: its serial) and its FHIR webhook bearer; with a password file the MQTT credential is added
    there, the other devices' lines left as they are. Then reload the broker (systemctl reload mosquitto).

    Example: proactif watch devices add OXY-000123 --kind oxymetre --interval 900 --password-file passwd
    """
    broker = _broker()
    path = _password_file(password_file)
    try:
        device, token = broker.add_device(serial, kind, interval, path)
    except broker.BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    figures = {"serial": device.serial, "kind": device.kind, "expected_interval_s": device.expected_interval_s,
               "token": token, "mqtt_username": device.serial, "password_file": str(path) if path else None}

    def human() -> None:
        click.echo(f"appareil {device.serial} ({device.get_kind_display()}) enregistré")
        click.echo(f"jeton : {token}")
        click.echo(f"identifiant MQTT : {device.serial}, mot de passe : le jeton"
                   + (f" (ajouté à {path} : rechargez le broker, systemctl reload mosquitto)" if path else
                      " (aucun fichier de mots de passe : identifiant MQTT non écrit)"))

    emit(as_json, figures, human)
    click.echo("Attention : ce jeton n'est affiché qu'une fois et n'est pas conservé ; notez-le dans l'appareil "
               "maintenant (perdu, il faut en émettre un autre : proactif watch devices renew).", err=True)


@devices.command("renew")
@click.argument("serial")
@click.option("--password-file", default=None, type=click.Path(dir_okay=False),
              help="The broker's password file (default: PROACTIF_MQTT_PASSWORD_FILE).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def devices_renew(serial: str, password_file: str | None, as_json: bool) -> None:
    """Issue a device a new token (lost or leaked): the old one is refused from now on by the FHIR webhook and, once
    the broker is reloaded, by MQTT. Prints the new token once.

    Example: proactif watch devices renew OXY-000123 --password-file /etc/mosquitto/proactif/passwd
    """
    broker = _broker()
    path = _password_file(password_file)
    try:
        token = broker.renew_token(serial, path)
    except broker.BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, {"serial": serial.strip(), "token": token, "password_file": str(path) if path else None},
         lambda: click.echo(f"nouveau jeton de {serial.strip()} : {token}"))
    click.echo("Attention : ce jeton n'est affiché qu'une fois et n'est pas conservé.", err=True)


@devices.command("revoke")
@click.argument("serial")
@click.option("--password-file", default=None, type=click.Path(dir_okay=False),
              help="The broker's password file (default: PROACTIF_MQTT_PASSWORD_FILE).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def devices_revoke(serial: str, password_file: str | None, as_json: bool) -> None:
    """Revoke a device (lost, stolen, returned): its token is cleared, so the FHIR webhook refuses it, and its MQTT
    credential is deleted; once the broker is reloaded (systemctl reload mosquitto, a SIGHUP) its connection is
    closed and it cannot connect again. Its readings and loans stay.

    Example: proactif watch devices revoke OXY-000123 --password-file /etc/mosquitto/proactif/passwd --json
    """
    broker = _broker()
    try:
        result = broker.revoke_device(serial, _password_file(password_file))
    except broker.BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, result, lambda: click.echo(
        f"appareil {result['serial']} révoqué : jeton effacé"
        + (", identifiant MQTT supprimé (rechargez le broker : systemctl reload mosquitto)"
           if result["mqtt_credential_removed"] else ", aucun identifiant MQTT supprimé")))


@devices.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def devices_list(as_json: bool) -> None:
    """Every device: serial, kind, state, battery, last contact, whether its token is active and whether it is lent
    today (not to whom).

    Example: proactif watch devices list --json
    """
    rows = _broker().devices()

    def human() -> None:
        click.echo(f"{len(rows)} appareil{'s' if len(rows) > 1 else ''}")
        for row in rows:
            battery = f"{row['battery']} %" if row["battery"] is not None else "—"
            click.echo(f"  {row['serial']:<24} {row['kind']:<12} {row['state']:<10} batterie {battery:<6} "
                       f"dernier contact {row['last_seen_at'] or 'jamais'}"
                       f"{'' if row['active'] else ' — RÉVOQUÉ'}{' — prêté' if row['lent'] else ''}")

    emit(as_json, {"devices": rows, "count": len(rows)}, human)


@watch.command("broker-config")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Folder written: mosquitto.conf, acl, passwd (e.g. /etc/mosquitto/proactif).")
@click.option("--cert", required=True, type=click.Path(dir_okay=False), help="The broker's TLS certificate (PEM).")
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Its private key (PEM).")
@click.option("--ca", required=True, type=click.Path(dir_okay=False), help="The CA certificate that signed it (PEM).")
@click.option("--ingester-user", default="proactif-ingester", show_default=True, help="The ingester's MQTT user.")
@click.option("--ingester-password-file", required=True, type=click.Path(dir_okay=False),
              help="A file holding the ingester's password (its first line; 16 characters at least).")
@click.option("--port", default=8883, show_default=True, type=click.IntRange(1, 65535), help="TLS listener port.")
@click.option("--bind", default="", help="Address the listener binds (default: every interface).")
@click.option("--persistence", default="/var/lib/mosquitto", show_default=True,
              help="Folder of the broker's persistence file; empty: persistence off.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def broker_config(out: str, cert: str, key: str, ca: str, ingester_user: str, ingester_password_file: str, port: int,
                  bind: str, persistence: str, as_json: bool) -> None:
    """Write the production Mosquitto configuration of the home devices: a TLS listener only, no anonymous client,
    the password file (the ingester's credential; the devices' added by `devices add`) and the ACL (each device
    writes its own topics only and reads nothing, the ingester reads them all). Include it from
    /etc/mosquitto/conf.d or start mosquitto -c on it; see docs/operations.md.

    Example: proactif watch broker-config --out mqtt --cert s.pem --key s.key --ca ca.pem --ingester-password-file pw
    """
    from pathlib import Path

    broker = _broker()
    try:
        with open(ingester_password_file, encoding="utf-8") as handle:
            password = (handle.readline() or "").strip()
    except OSError as exc:
        raise click.ClickException(f"fichier du mot de passe de l'ingesteur illisible ({ingester_password_file}) : "
                                   f"{exc.strerror or exc}") from None
    try:
        files = broker.write_config(Path(out), cert=Path(cert), key=Path(key), ca=Path(ca),
                                    ingester_password=password, ingester_user=ingester_user, port=port, bind=bind,
                                    persistence_location=Path(persistence) if persistence else None)
    except broker.BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    emit(as_json, {"conf": str(files.conf), "acl": str(files.acl), "password_file": str(files.passwd),
                   "ingester_user": ingester_user, "port": port},
         lambda: click.echo(f"configuration écrite : {files.conf}, {files.acl}, {files.passwd}\n"
                            f"ingesteur : PROACTIF_MQTT_URL=mqtts://{ingester_user}:…@hôte:{port} et "
                            f"PROACTIF_MQTT_CA_FILE={Path(ca).resolve()} ; appareils : PROACTIF_MQTT_PASSWORD_FILE="
                            f"{files.passwd}"))
