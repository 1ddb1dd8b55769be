"""The `proactif` command as an operator runs it: a fresh SQLite database in a temporary home."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import reference_file
from tests.registry import csvgen

PROACTIF = [sys.executable, "-m", "proactif.cli"]


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROACTIF_", "DATABASE_URL", "DJANGO_"))}
    env.update(PROACTIF_HOME=str(tmp_path / "var"), PROACTIF_LOG_LEVEL="WARNING")
    return env


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*PROACTIF, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"proactif {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def figures(result: subprocess.CompletedProcess[str]) -> dict:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # --json prints exactly one object
    return json.loads(lines[0])


def test_demo_without_serving_prepares_everything(home: dict[str, str]) -> None:
    out = figures(run(home, "demo", "--no-serve", "--residents", "2000", "--json"))
    assert out["seed"]["residents"] == 2000 and out["counts"]["persons"] >= 2000
    assert out["url"] == "http://127.0.0.1:8000/" and out["password"]
    assert {a["role"] for a in out["agents"]} == {"agent", "responsable", "dpo", "admin"}
    assert out["journeys_entered"]["titres-identite"] > 0  # the passport journeys run from the start
    again = figures(run(home, "demo", "--no-serve", "--json"))
    assert again["seed"] == "registre existant conservé" and again["password"] != out["password"]


def test_the_demo_follows_its_port_and_stops_at_once_on_a_busy_one(home: dict[str, str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = run(home, "demo", "--port", str(port), "--residents", "50", check=False)
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.strip().splitlines() == [
            f"Error: le port {port} est déjà utilisé sur 127.0.0.1 : choisissez-en un autre "
            f"(make demo PORT={port + 1}, ou proactif demo --port {port + 1})"]
        assert not (tmp_path / "var" / "proactif.sqlite3").exists()  # stopped before any set-up
    out = figures(run(home, "demo", "--no-serve", "--port", "8011", "--residents", "50", "--json"))
    assert out["url"] == "http://127.0.0.1:8011/" and out["citizen_links"] == "http://127.0.0.1:8011"
    assert out["sinks"] == {"smtp_port": 8036, "http_port": 8037}


def test_seed_import_tick_simulate_purge(home: dict[str, str]) -> None:
    seeded = figures(run(home, "seed", "--residents", "500", "--seed", "4", "--json"))
    assert seeded["residents"] == 500
    refused = run(home, "seed", "--residents", "10", check=False)
    assert refused.returncode != 0 and "--reset" in refused.stderr
    bal = figures(run(home, "import", "addresses", str(reference_file("bal-mock-21286-cocorico-fictional.csv")),
                      "--json"))
    assert bal["created"] > 0 and bal["rejected_lines"] == 0
    ticked = figures(run(home, "tick", "--json"))
    assert ticked["executor"] == "inline"
    until = (date.today() + timedelta(days=3)).isoformat()
    simulated = figures(run(home, "simulate", "--until", until, "--json"))
    assert simulated["days"] >= 3 and simulated["jobs_run"]
    assert json.loads(run(home, "clock", "show").stdout)["offset_seconds"] > 0
    run(home, "clock", "reset")
    assert abs(json.loads(run(home, "clock", "show").stdout)["offset_seconds"]) < 5
    purged = figures(run(home, "purge", "--json"))
    assert "registre" in purged and "access_log_rows" in purged["journal_des_acces"]
    suggested = figures(run(home, "identity", "suggest", "--json"))
    assert suggested["records"] > 450  # active and moved-out residents
    exported = json.loads(run(home, "gdpr", "export", "1").stdout)
    assert exported["registre"]["identite"]["nom_naissance"]


def test_import_errors_are_printed_and_written(home: dict[str, str], tmp_path: Path) -> None:
    keys = csvgen.address_file(tmp_path / "a.csv")
    run(home, "import", "addresses", str(tmp_path / "a.csv"))
    bad = csvgen.malformed_file(tmp_path / "h.csv", keys, count=200)
    result = run(home, "import", "residents", str(tmp_path / "h.csv"), "--errors", str(tmp_path / "err.csv"))
    assert "190 créées" in result.stdout and "10 rejetées" in result.stdout
    lines = (tmp_path / "err.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ligne;champ;motif" and {int(line.split(";")[0]) for line in lines[1:]} == set(bad)
    missing = run(home, "import", "residents", str(tmp_path / "absent.csv"), check=False)
    assert missing.returncode != 0 and "introuvable" in missing.stderr


def test_kill_9_during_an_import_loses_nothing_and_the_rerun_resumes(home: dict[str, str], tmp_path: Path) -> None:
    keys = csvgen.address_file(tmp_path / "a.csv")
    run(home, "import", "addresses", str(tmp_path / "a.csv"))
    csvgen.write(tmp_path / "h.csv", csvgen.resident_rows(6000, keys))
    process = subprocess.Popen([*PROACTIF, "import", "residents", str(tmp_path / "h.csv")], env=home,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = Path(home["PROACTIF_HOME"]) / "proactif.sqlite3"
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(database, timeout=30) as conn:
            row = conn.execute("SELECT lines_done FROM registry_importrun WHERE kind='residents'").fetchone()
        done = row[0] if row else 0
        if done > 1000:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait(30)
    assert 1000 < done < 6001, "the import finished before it could be interrupted"
    with sqlite3.connect(database, timeout=30) as conn:
        committed = conn.execute("SELECT lines_done FROM registry_importrun WHERE kind='residents'").fetchone()[0]
        persons = conn.execute("SELECT COUNT(*) FROM registry_person WHERE external_id LIKE 'E%'").fetchone()[0]
    assert persons == committed - 1  # every committed line, and not one line of the interrupted batch
    resumed = figures(run(home, "import", "residents", str(tmp_path / "h.csv"), "--json"))
    assert resumed["resumed_from_line"] == committed
    assert resumed["created"] == 6000 - persons
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM registry_person WHERE external_id LIKE 'E%'").fetchone()[0] == 6000
        assert conn.execute("SELECT COUNT(DISTINCT external_id) FROM registry_person "
                            "WHERE external_id LIKE 'E%'").fetchone()[0] == 6000


def test_agents_and_api_keys_from_the_command_line(home: dict[str, str]) -> None:
    run(home, "init")
    created = run(home, "agent", "create", "c.martin@mairie.example.fr", "--service", "etat_civil")
    assert "mot de passe" in created.stdout
    key = json.loads(run(home, "apikey", "create", "--service", "etat_civil", "--name", "logiciel",
                         "--scope", "registry:read").stdout)
    assert key["token"].startswith("pf_test_")
    wrong = run(home, "apikey", "create", "--service", "etat_civil", "--name", "x", "--scope", "everything",
                check=False)
    assert wrong.returncode != 0 and "portée inconnue" in wrong.stderr
    # A scope serves purposes: the état civil works for none of the alerts' or the access log's
    for scope, purpose in (("alerts:write", "securite_publique"), ("audit:read", "rgpd")):
        refused = run(home, "apikey", "create", "--service", "etat_civil", "--name", "x", "--kind", "live",
                      "--scope", scope, check=False)
        assert refused.returncode != 0 and refused.stdout == ""
        assert refused.stderr.strip().splitlines() == [
            f"Error: portée {scope} refusée au service etat_civil : elle sert la finalité {purpose}, que ce service "
            "n'exerce pas"]
    dpo = json.loads(run(home, "apikey", "create", "--service", "dpo", "--name", "outil du DPO", "--kind", "live",
                         "--scope", "audit:read").stdout)
    assert dpo["scopes"] == ["audit:read"] and dpo["token"].startswith("pf_live_")


def test_journeys_and_messages_commands(home: dict[str, str], tmp_path: Path) -> None:
    demo = figures(run(home, "demo", "--no-serve", "--residents", "800", "--json"))
    assert demo["journeys_entered"]["titres-identite"] > 0
    listed = figures(run(home, "journeys", "list", "--json"))["journeys"]
    assert {j["key"] for j in listed} >= {"titres-identite", "echeance-abonnement"}
    shown = figures(run(home, "journeys", "show", "titres-identite", "--json"))
    assert shown["entered"] > 0 and shown["nodes"][0]["node"] == "alerte"

    source = Path(__file__).resolve().parents[2] / "src/proactif/deadlines/journeys/titres-identite.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text(source.read_text(encoding="utf-8").replace("next: attente_reponse", "next: nulle_part"),
                      encoding="utf-8")
    refused = run(home, "journeys", "publish", str(broken), check=False)
    assert refused.returncode != 0 and "étape inconnue « nulle_part »" in refused.stderr
    renamed = tmp_path / "v2.yaml"
    renamed.write_text(source.read_text(encoding="utf-8").replace("  alerte:", "  premiere_alerte:")
                       .replace("start: alerte", "start: premiere_alerte"), encoding="utf-8")
    published = figures(run(home, "journeys", "publish", str(renamed), "--json"))
    assert published == {"key": "titres-identite", "version": 2, "status": "published"}
    unmapped = run(home, "journeys", "migrate", "titres-identite", "--to", "2", check=False)
    assert unmapped.returncode != 0 and "sans correspondance dans la version 2 : alerte" in unmapped.stderr
    moved = figures(run(home, "journeys", "migrate", "titres-identite", "--to", "2",
                        "--map", "alerte=premiere_alerte", "--json"))
    assert moved["moved"] == shown["statuses"].get("active", 0)
    stats = figures(run(home, "messages", "stats", "--json"))
    assert stats["channels"] == {} and stats["providers"] == []  # nothing advanced yet: no message


def test_the_journeys_and_sendtime_benchmarks_run_at_small_scale(home: dict[str, str], tmp_path: Path) -> None:
    run(home, "seed", "--residents", "1500", "--seed", "3", "--json")
    journeys = figures(run(home, "bench-probe", "journeys", "--json"))
    entry, advance = journeys["entry"], journeys["advance"]
    assert entry["instances"] > 100 and entry["first_step"]["advanced"] == entry["instances"]
    assert entry["messages_created"] == entry["links_created"] > 0
    assert advance["due"] == advance["advanced"] == advance["messages_created"]
    assert journeys["reference"]["rows"] == advance["advanced"]
    sendtime = figures(run({**home, "PROACTIF_BENCH_HOME": str(tmp_path / "bench")}, "bench", "sendtime",
                           "--residents", "3000", "--json"))
    assert sendtime["optimised"]["people"] + sendtime["holdout"]["people"] == 3000
    low, high = sendtime["uplift_ci95_points"]
    assert low <= sendtime["uplift_points"] <= high


def test_the_web_server_answers_with_its_sinks_and_background_work_running(home: dict[str, str]) -> None:
    """`proactif serve` as installed: gunicorn forks its worker after the sinks' threads have started in the
    arbiter. A module imported first by one of those threads during the fork would stay locked in the
    worker, and the first request importing it would hang (it did: `import httpx`)."""
    from tests.sinks import free_port

    port, http_port, smtp_port = free_port(), free_port(), free_port()
    env = {**home, "PROACTIF_SINK_HTTP_PORT": str(http_port), "PROACTIF_SINK_SMTP_PORT": str(smtp_port),
           "PROACTIF_SMTP_PORT": str(smtp_port), "PROACTIF_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    run(env, "init")
    server = subprocess.Popen([*PROACTIF, "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        import httpx

        answers = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(answers) < 2:
            for path in ("/healthz", "/connexion/"):
                try:
                    answers[path] = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code
                except httpx.HTTPError:
                    time.sleep(0.5)
        assert answers == {"/healthz": 200, "/connexion/": 200}, answers
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.django_db
def test_the_demo_says_when_messages_leave_when_started_at_night_or_on_sunday() -> None:
    from datetime import UTC, datetime

    from proactif.cli.running import quiet_note
    from proactif.kernel import clock

    with clock.use(clock.FixedClock(datetime(2026, 12, 6, 15, 0, tzinfo=UTC))):  # a Sunday afternoon
        assert quiet_note(clock.now()) == (
            "  Heures calmes : les messages non urgents partiront le lundi 7 décembre 2026 à 08h00 "
            "(PROACTIF_QUIET_HOURS, PROACTIF_SEND_ON_SUNDAYS) ; les alertes partent tout de suite.")
    with clock.use(clock.FixedClock(datetime(2026, 12, 7, 10, 0, tzinfo=UTC))):  # a Monday morning
        assert quiet_note(clock.now()) == ""
