"""`proactif watch devices` and `watch broker-config` for real (subprocesses on a fresh home): the token printed once
with its warning, each device's credential added to Mosquitto's password file and deleted without touching the
others, and every refusal one French line, no traceback, nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli.test_cli import figures, run
from tests.conftest import require


def refused(env: dict[str, str], *args: str, says: str) -> None:
    result = run(env, *args, check=False)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def hashes(password_file: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in password_file.read_text().splitlines())


def test_the_device_credential_lifecycle_and_the_broker_configuration(home, tmp_path) -> None:
    require(bool(shutil.which("mosquitto_passwd")) or Path("/usr/bin/mosquitto_passwd").exists(),
            "mosquitto_passwd is not installed")
    passwd = tmp_path / "passwd"
    added = run(home, "watch", "devices", "add", "OXY-1", "--kind", "oxymetre", "--interval", "900",
                "--password-file", str(passwd), "--json")
    first = figures(added)
    assert first["serial"] == first["mqtt_username"] == "OXY-1" and len(first["token"]) >= 32
    assert "n'est affiché qu'une fois" in added.stderr
    assert list(hashes(passwd)) == ["OXY-1"] and hashes(passwd)["OXY-1"].startswith("$7$")
    assert first["token"] not in passwd.read_text()
    home_b = {**home, "PROACTIF_MQTT_PASSWORD_FILE": str(passwd)}  # the setting instead of the option
    second = figures(run(home_b, "watch", "devices", "add", "BTN-2", "--kind", "bouton", "--json"))
    before = hashes(passwd)
    assert list(before) == ["OXY-1", "BTN-2"]

    refused(home, "watch", "devices", "add", "X-1", "--kind", "grille-pain", says="type d'appareil inconnu")
    refused(home, "watch", "devices", "add", "OXY-1", "--kind", "oxymetre", says="déjà le numéro de série OXY-1")
    refused(home, "watch", "devices", "add", "veille/#", "--kind", "oxymetre", says="numéro de série invalide")
    refused(home, "watch", "devices", "add", "OXY-3", "--kind", "oxymetre", "--password-file",
            str(tmp_path / "absent" / "passwd"), says="dossier introuvable")
    refused(home, "watch", "devices", "revoke", "OXY-404", says="aucun appareil")
    listed = figures(run(home, "watch", "devices", "list", "--json"))
    assert [d["serial"] for d in listed["devices"]] == ["BTN-2", "OXY-1"]  # OXY-3 not kept: its credential failed
    assert all(d["active"] and not d["lent"] for d in listed["devices"])
    assert hashes(passwd) == before

    revoked = figures(run(home_b, "watch", "devices", "revoke", "OXY-1", "--json"))
    assert revoked == {"serial": "OXY-1", "token_cleared": True, "mqtt_credential_removed": True}
    assert hashes(passwd) == {"BTN-2": before["BTN-2"]}  # the other device's line as it was
    listed = figures(run(home, "watch", "devices", "list", "--json"))
    assert {d["serial"]: d["active"] for d in listed["devices"]} == {"BTN-2": True, "OXY-1": False}
    renewed = figures(run(home_b, "watch", "devices", "renew", "BTN-2", "--json"))
    assert renewed["token"] != second["token"] and hashes(passwd)["BTN-2"] != before["BTN-2"]

    # the broker's configuration
    for name in ("ca.pem", "server.pem", "server.key"):
        (tmp_path / name).write_text("PEM")
    (tmp_path / "ingester.secret").write_text("a-long-enough-secret-1234\n")
    out = tmp_path / "mosquitto"
    args = ["watch", "broker-config", "--out", str(out), "--cert", str(tmp_path / "server.pem"), "--key",
            str(tmp_path / "server.key"), "--ca", str(tmp_path / "ca.pem"), "--ingester-password-file",
            str(tmp_path / "ingester.secret"), "--port", "18883", "--persistence", "", "--json"]
    written = figures(run(home, *args))
    conf = Path(written["conf"]).read_text()
    for line in ("allow_anonymous false", f"password_file {out}/passwd", f"acl_file {out}/acl", "listener 18883",
                 f"certfile {tmp_path}/server.pem", "persistence false"):
        assert line in conf.splitlines(), line
    assert "listener 1883" not in conf and "allow_anonymous true" not in conf
    acl = Path(written["acl"]).read_text()
    assert "pattern write veille/appareils/%u/mesures" in acl and "topic read veille/appareils/+/etat" in acl
    assert list(hashes(Path(written["password_file"]))) == ["proactif-ingester"]

    (tmp_path / "short.secret").write_text("court\n")
    refused(home, *[a if a != str(tmp_path / "ingester.secret") else str(tmp_path / "short.secret") for a in args],
            says="trop court")
    refused(home, *[a if a != str(tmp_path / "ca.pem") else str(tmp_path / "nope.pem") for a in args],
            says="autorité de certification introuvable")
    refused(home, *[a if a != str(out) else "/proc/proactif-test" for a in args], says="impossible à créer")
    refused(home, *[a if a != str(tmp_path / "ingester.secret") else str(tmp_path / "none") for a in args],
            says="illisible")
    refused(home, *args, "--ingester-user", "BTN-2", says="préfixe « proactif »")
    refused(home, "watch", "devices", "add", "proactif-ingester", "--kind", "bouton", says="réservé à l'ingesteur")
    refused(home_b, "watch", "devices", "renew", "proactif-ingester", says="réservé à l'ingesteur")


def test_a_missing_mosquitto_passwd_is_one_line(monkeypatch, tmp_path) -> None:
    from proactif.watch import _broker as broker

    monkeypatch.setattr(broker, "PASSWD_BINARY", str(tmp_path / "mosquitto_passwd"))
    monkeypatch.setattr(broker.shutil, "which", lambda name: None)
    with pytest.raises(broker.BrokerError, match="mosquitto_passwd est introuvable"):
        broker.set_credential(tmp_path / "passwd", "OXY-1", "token")
    assert broker.users(tmp_path / "passwd") == set()
