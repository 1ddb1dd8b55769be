"""The `proactif` command as an operator runs it: a fresh SQLite database in a temporary home."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from tests.conftest import reference_file
from tests.registry import csvgen

PROACTIF = [sys.executable, "-m", "proactif.cli"]


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*PROACTIF, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"proactif {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def figures(result: subprocess.CompletedProcess[str]) -> dict:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # --json prints exactly one object
    return json.loads(lines[0])


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
