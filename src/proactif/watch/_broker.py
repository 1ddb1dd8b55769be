"""The production Mosquitto of the home devices (issue 18 §1): its configuration, and each device's credential.

`write_config` writes into a folder:

- `mosquitto.conf` — one TLS listener (8883 by default: `cafile`, `certfile`, `keyfile`, TLS 1.2 at least), no
  anonymous client, a `password_file` and an `acl_file`, persistence on (the ingester's session and queue survive a
  broker restart);
- `acl` — the ingester's user may read `veille/appareils/+/mesures` and `…/+/etat` and write nothing; every other
  user is a device whose username is its serial, and may write its own `veille/appareils/<serial>/mesures` and
  `…/etat` (`pattern write veille/appareils/%u/…`) and read nothing;
- `passwd` — Mosquitto's own hashes (`mosquitto_passwd`, PBKDF2-SHA512), the ingester's first.

A device's MQTT password is its own token, the one `register_device` returns once (the FHIR webhook takes the same):
`add_device` registers the device and adds its credential to the password file (`mosquitto_passwd -b`, which leaves
the other lines as they are); `revoke_device` clears the token (the webhook refuses it too) and deletes the
credential (`mosquitto_passwd -D`). Mosquitto reads the password and ACL files again on SIGHUP (`systemctl reload
mosquitto`): a revoked device's connection is closed then and it can no longer connect.

`-b` puts the password on `mosquitto_passwd`'s command line for the few milliseconds it runs: visible to the
machine's other users through `ps`. Run the commands on the broker's own machine, where only operators log in.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from proactif.kernel.logging import get_logger
from proactif.watch import _mqtt as mqtt
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import Device, DeviceLoan

log = get_logger(__name__)
PASSWD_BINARY = "/usr/bin/mosquitto_passwd"  # noqa: S105 - Debian's mosquitto package
INGESTER_USER = "proactif-ingester"
RESERVED = "proactif"  # the ingester's username begins with it, a device's serial never does
TLS_PORT = 8883
# A serial is a username and a topic level: none of MQTT's wildcards, level separator or `:` (the password file's)
SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class BrokerError(Exception):
    """What went wrong, in one French sentence for the operator."""


@dataclass(frozen=True)
class BrokerFiles:
    conf: Path
    acl: Path
    passwd: Path


def passwd_binary() -> str:
    found = shutil.which("mosquitto_passwd") or PASSWD_BINARY
    if not Path(found).is_file():
        raise BrokerError("mosquitto_passwd est introuvable : installez le paquet mosquitto (apt install mosquitto)")
    return found


def check_serial(serial: str) -> str:
    serial = serial.strip()
    if not SERIAL.fullmatch(serial):
        raise BrokerError(f"numéro de série invalide « {serial[:70]} » : 1 à 64 caractères parmi lettres, chiffres, "
                          "point, tiret et souligné, le premier une lettre ou un chiffre")
    if serial.lower().startswith(RESERVED):  # a device named like the ingester would get its rights
        raise BrokerError(f"numéro de série invalide « {serial} » : le préfixe « {RESERVED} » est réservé à "
                          "l'ingesteur")
    return serial


def _run(args: list[str]) -> None:
    try:
        done = subprocess.run([passwd_binary(), *args], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except OSError as exc:
        raise BrokerError(f"mosquitto_passwd n'a pas pu être lancé : {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise BrokerError("mosquitto_passwd n'a pas répondu en 30 secondes") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise BrokerError(f"mosquitto_passwd a échoué : {said[-1] if said else f'code {done.returncode}'}")


@contextmanager
def _locked(password_file: Path) -> Iterator[None]:
    """One writer of the password file at a time (`mosquitto_passwd` itself takes no lock)."""
    try:
        handle = open(password_file.with_name(password_file.name + ".lock"), "a")  # noqa: SIM115
    except OSError as exc:
        raise BrokerError(f"dossier du fichier de mots de passe inaccessible en écriture ({password_file.parent}) : "
                          f"{exc.strerror or exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def users(password_file: Path) -> set[str]:
    """The usernames the password file holds."""
    try:
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise BrokerError(f"fichier de mots de passe illisible ({password_file}) : {exc.strerror or exc}") from None
    return {line.split(":", 1)[0] for line in lines if ":" in line and not line.startswith("#")}


def _writable(password_file: Path) -> None:
    target = password_file if password_file.exists() else password_file.parent
    if not target.exists():
        raise BrokerError(f"dossier introuvable : {target}")
    if not os.access(target, os.W_OK):
        raise BrokerError(f"{target} n'est pas accessible en écriture")


def set_credential(password_file: Path, username: str, password: str, *, replace: bool = False) -> None:
    """Add `username` to the password file (created if absent, mode 640), the other lines left as they are;
    BrokerError if it is there already, unless `replace`."""
    passwd_binary()
    _writable(password_file)
    with _locked(password_file):
        if password_file.exists():
            if username in users(password_file) and not replace:
                raise BrokerError(f"« {username} » a déjà un identifiant dans {password_file}")
            _run(["-b", str(password_file), username, password])
        else:
            _run(["-c", "-b", str(password_file), username, password])
            _share_with_broker(password_file)


def remove_credential(password_file: Path, username: str) -> bool:
    """Delete `username` from the password file; False if it was not there."""
    passwd_binary()
    if not password_file.exists():
        return False
    _writable(password_file)
    with _locked(password_file):
        if username not in users(password_file):
            return False
        _run(["-D", str(password_file), username])
    return True


def _share_with_broker(path: Path) -> None:
    """Readable by its owner and Mosquitto's group (Debian's broker runs as `mosquitto`), no one else."""
    path.chmod(0o640)
    if os.geteuid() == 0:
        with suppress(LookupError, OSError):  # no such group here: the operator sets it (docs/operations.md)
            shutil.chown(path, group="mosquitto")


# --- the devices' lifecycle ----------------------------------------------------------------------------------
def add_device(serial: str, kind: str, interval_s: int = 300, password_file: Path | None = None) -> tuple[Device, str]:
    """Register a device and, with a password file, its MQTT credential (username: its serial; password: its token).
    Both or neither: the device is not kept if its credential cannot be written."""
    serial = check_serial(serial)
    if kind not in dict(Device.KINDS):
        raise BrokerError(f"type d'appareil inconnu : {kind} (attendu : {', '.join(dict(Device.KINDS))})")
    if Device.objects.filter(serial=serial).exists():
        raise BrokerError(f"un appareil porte déjà le numéro de série {serial}")
    if password_file is not None:
        passwd_binary()
        _writable(password_file)
        if serial in users(password_file):  # the ingester's name, or a device deleted from the database only
            raise BrokerError(f"« {serial} » a déjà un identifiant dans {password_file}")
    try:
        with transaction.atomic():
            device, token = telemetry.register_device(serial, kind, interval_s)
            if password_file is not None:
                set_credential(password_file, serial, token)
    except IntegrityError:  # registered meanwhile by another command
        raise BrokerError(f"un appareil porte déjà le numéro de série {serial}") from None
    log.info("device registered", serial=serial, kind=kind, mqtt=password_file is not None)
    return device, token


def renew_token(serial: str, password_file: Path | None = None) -> str:
    """A new token for a device (the old one refused from now on, by the webhook and, once reloaded, the broker)."""
    device = _device(serial)
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(token_hash=telemetry.token_hash(token))
        if password_file is not None:
            set_credential(password_file, device.serial, token, replace=True)
    log.info("device token renewed", serial=device.serial)
    return token


def revoke_device(serial: str, password_file: Path | None = None) -> dict[str, Any]:
    """The device's token cleared (the FHIR webhook refuses it) and its MQTT credential deleted; its readings and
    loans stay. The broker refuses it once it has read its files again (SIGHUP)."""
    device = _device(serial)
    removed = False
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(token_hash="")
        if password_file is not None:
            removed = remove_credential(password_file, device.serial)
    log.info("device revoked", serial=device.serial, mqtt=removed)
    return {"serial": device.serial, "token_cleared": True, "mqtt_credential_removed": removed}


def _device(serial: str) -> Device:
    if serial.strip().lower().startswith(RESERVED):  # never the ingester's credential, whatever the table holds
        raise BrokerError(f"le préfixe « {RESERVED} » est réservé à l'ingesteur : ce n'est pas un appareil")
    device = Device.objects.filter(serial=serial.strip()).first()
    if device is None:
        raise BrokerError(f"aucun appareil ne porte le numéro de série {serial.strip()[:70]}")
    return device


def devices() -> list[dict[str, Any]]:
    """Every device: serial, kind, state, battery, last contact, whether it may authenticate and is lent now (not to
    whom: the persons are the register's, read under its purpose)."""
    from proactif.kernel import clock

    today = clock.today()
    lent = set(DeviceLoan.objects.filter(start_on__lte=today).exclude(end_on__lt=today)
               .values_list("device_id", flat=True))
    return [{"serial": d.serial, "kind": d.kind, "state": d.state, "battery": d.battery,
             "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None,
             "expected_interval_s": d.expected_interval_s, "active": bool(d.token_hash), "lent": d.pk in lent}
            for d in Device.objects.order_by("serial")]


# --- the broker's configuration -----------------------------------------------------------------------------
def acl_text(ingester_user: str = INGESTER_USER) -> str:
    return (
        "# Proactif — who may publish and read what (written by `proactif watch broker-config`).\n"
        "# Read again on SIGHUP (systemctl reload mosquitto).\n\n"
        "# The ingester reads every device's topics and writes nothing.\n"
        f"user {ingester_user}\n"
        f"topic read {mqtt.PREFIX}/+/{mqtt.READINGS}\n"
        f"topic read {mqtt.PREFIX}/+/{mqtt.STATE}\n\n"
        "# Every other user is a device, its username its serial: it writes its own topics only and reads nothing.\n"
        f"pattern write {mqtt.PREFIX}/%u/{mqtt.READINGS}\n"
        f"pattern write {mqtt.PREFIX}/%u/{mqtt.STATE}\n")


def config_text(folder: Path, *, cert: Path, key: Path, ca: Path, port: int = TLS_PORT, bind: str = "",
                persistence_location: Path | None = None, run_as: str = "") -> str:
    lines = [
        "# Proactif — the home devices' Mosquitto (written by `proactif watch broker-config`).",
        "# Password and ACL files are read again on SIGHUP (systemctl reload mosquitto).",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {folder / 'passwd'}",
        f"acl_file {folder / 'acl'}",
        "",
        "# The ingester's persistent session and its queue survive a restart (QoS 1, acknowledged after commit).",
        "persistence " + ("true" if persistence_location else "false"),
    ]
    if persistence_location:
        lines += [f"persistence_location {persistence_location}/", "autosave_interval 60"]
    lines += [
        "max_queued_messages 1000000",
        "max_queued_bytes 0",
        "max_inflight_messages 100",
        "max_packet_size 1048576",
        "",
    ]
    if run_as:
        lines += [f"user {run_as}", ""]
    lines += [
        "# TLS only: no plain-text listener.",
        f"listener {port}{f' {bind}' if bind else ''}",
        "protocol mqtt",
        f"cafile {ca}",
        f"certfile {cert}",
        f"keyfile {key}",
        "tls_version tlsv1.2",
        "require_certificate false",
        "",
    ]
    return "\n".join(lines)


def write_config(folder: Path, *, cert: Path, key: Path, ca: Path, ingester_password: str,
                 ingester_user: str = INGESTER_USER, port: int = TLS_PORT, bind: str = "",
                 persistence_location: Path | None = Path("/var/lib/mosquitto"), run_as: str = "") -> BrokerFiles:
    """Write `mosquitto.conf` and `acl` into `folder` (replaced), and the ingester's credential into its `passwd`
    (the devices' lines, if the file exists, are kept)."""
    for label, path in (("certificat", cert), ("clé", key), ("autorité de certification", ca)):
        if not path.is_file():
            raise BrokerError(f"{label} introuvable : {path}")
    if not SERIAL.fullmatch(ingester_user) or not ingester_user.lower().startswith(RESERVED):
        raise BrokerError(f"nom d'utilisateur de l'ingesteur invalide : « {ingester_user[:70]} » (lettres, chiffres, "
                          f"point, tiret, souligné, et le préfixe « {RESERVED} », qu'aucun appareil ne peut porter)")
    if Device.objects.filter(serial=ingester_user).exists():
        raise BrokerError(f"« {ingester_user} » est le numéro de série d'un appareil : choisissez un autre nom")
    if len(ingester_password) < 16:
        raise BrokerError("mot de passe de l'ingesteur trop court : 16 caractères au moins")
    passwd_binary()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BrokerError(f"dossier {folder} impossible à créer : {exc.strerror or exc}") from None
    _writable(folder)
    folder = folder.resolve()
    files = BrokerFiles(folder / "mosquitto.conf", folder / "acl", folder / "passwd")
    try:
        files.conf.write_text(config_text(folder, cert=cert.resolve(), key=key.resolve(), ca=ca.resolve(), port=port,
                                          bind=bind, persistence_location=persistence_location, run_as=run_as))
        files.acl.write_text(acl_text(ingester_user))
    except OSError as exc:
        raise BrokerError(f"écriture impossible dans {folder} : {exc.strerror or exc}") from None
    _share_with_broker(files.acl)
    set_credential(files.passwd, ingester_user, ingester_password, replace=True)
    return files
