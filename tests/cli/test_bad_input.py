"""Bad input on the command line: one clear line on stderr, a non-zero exit, no traceback, nothing written.

Each command runs for real on one small seeded commune — all of them in one process (`run_many.py`, each with its
own exit code and file descriptors; a test checks it against a command run alone) — and the rows of every table
are counted before and after each refusal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import PROACTIF, run

HUGE = "99999999999999999999"  # past a BIGINT
ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "987654321"  # an id no row has
POINT = {"type": "Point", "coordinates": [2.35, 48.86]}
AREAS = {
    "array.json": [1, 2],
    "collection-of-arrays.json": {"type": "FeatureCollection", "features": [[1, 2]]},
    "nan-radius.json": {"type": "Feature", "properties": {"radius": float("nan")}, "geometry": POINT},
    "huge-radius.json": {"type": "Feature", "properties": {"radius": 1e300}, "geometry": POINT},
    "negative-radius.json": {"type": "Feature", "properties": {"radius": -5}, "geometry": POINT},
}

# (command line, words the one line says)
REFUSALS = [
    (["geo", "select", "--street", HUGE], "--street"),
    (["geo", "select", "--address", HUGE], "--address"),
    (["geo", "select", "--area", "array.json"], "zone refusée"),
    (["geo", "select", "--area", "collection-of-arrays.json"], "zone refusée"),
    (["geo", "select", "--area", "deep.json"], "imbrication trop profonde"),
    (["geo", "select", "--area", "nan-radius.json"], "rayon positif"),
    (["geo", "select", "--area", "huge-radius.json"], "rayon trop grand"),
    (["geo", "select", "--area", "negative-radius.json"], "rayon positif"),
    (["geo", "select", "--circle", "2.35", "48.86", "nan"], "rayon positif"),
    (["geo", "select", "--circle", "2.35", "48.86", "-5"], "rayon positif"),
    (["geo", "select", "--circle", "2.35", "48.86", "1e300"], "rayon trop grand"),
    (["alert", "send", "--area", "array.json", "--type", "autre", "--text", "x"], "zone refusée"),
    (["alert", "send", "--area", "deep.json", "--type", "autre", "--text", "x"], "imbrication trop profonde"),
    (["alert", "send", "--street", HUGE, "--type", "autre", "--text", "x"], "--street"),
    (["alert", "update", HUGE, "--text", "x"], "INCIDENT_ID"),
    (["alert", "cap", HUGE], "INCIDENT_ID"),
    (["gdpr", "export", UNKNOWN], f"personne {UNKNOWN} inconnue"),
    (["gdpr", "export", HUGE], "PERSON_ID"),
    (["gdpr", "erase", UNKNOWN, "--reason", "demande 12"], f"personne {UNKNOWN} inconnue"),
    (["gdpr", "erase", UNKNOWN, "--reason", "demande 12", "--dry-run"], f"personne {UNKNOWN} inconnue"),
    (["gdpr", "erase", HUGE, "--reason", "demande 12"], "PERSON_ID"),
    (["rights", "outreach", UNKNOWN], f"criblage {UNKNOWN} inconnu"),
    (["rights", "outreach", HUGE], "RUN_ID"),
    (["rights", "situation", "1", "--period", "2026-13"], "période « 2026-13 »"),
    (["rights", "situation", HUGE], "HOUSEHOLD_ID"),
    (["rights", "situation", UNKNOWN, "--period", "2026-11"], f"foyer {UNKNOWN} inconnu"),
    (["journeys", "migrate", "titres-identite", "--to", "99"], "sans version 99"),
    (["journeys", "migrate", "inconnu", "--to", "2"], "parcours « inconnu »"),
    (["journeys", "migrate", "titres-identite", "--to", HUGE], "--to"),
    (["apikey", "revoke", HUGE], "KEY_ID"),
    (["apikey", "revoke", UNKNOWN], f"clé {UNKNOWN} inconnue ou déjà révoquée"),  # not "revoked"
]


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """A small seeded commune in its own home, and a folder holding the bad area files."""
    folder = tmp_path_factory.mktemp("bad-input")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROACTIF_", "DATABASE_URL", "DJANGO_"))}
    env.update(PROACTIF_HOME=str(folder / "var"), PROACTIF_LOG_LEVEL="WARNING")
    run(env, "seed", "--residents", "60", "--seed", "2", "--json")
    for name, data in AREAS.items():
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    (folder / "deep.json").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    return env, folder


@pytest.fixture(scope="module")
def refused(commune: tuple[dict[str, str], Path]) -> dict[str, dict[str, Any]]:
    """Every refusal run once, in one process (`tests/cli/run_many.py`: each command with its own exit code and
    file descriptors, the tables counted before and after it), keyed by its command line."""
    env, folder = commune
    (folder / "commands.json").write_text(json.dumps([args for args, _ in REFUSALS]), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tests.cli.run_many", str(folder / "commands.json"),
                           str(Path(env["PROACTIF_HOME"]) / "proactif.sqlite3")],
                          env={**env, "PYTHONPATH": str(ROOT)}, cwd=folder, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return {" ".join(result["args"]): result for result in json.loads(done.stdout)}


@pytest.mark.parametrize(("args", "said"), REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_bad_input_gets_one_line_and_writes_nothing(refused: dict[str, dict[str, Any]], args: list[str],
                                                    said: str) -> None:
    result = refused[" ".join(args)]
    lines = result["stderr"].strip().splitlines()
    assert result["code"] != 0, result["stdout"]
    assert "Traceback" not in result["stderr"] and len(lines) == 1, result["stderr"]
    assert lines[0].startswith("Error: ") and said in lines[0], lines[0]
    assert result["stdout"] == ""
    assert result["rows_changed"] == {}


def test_one_process_runs_each_command_as_alone(commune: tuple[dict[str, str], Path]) -> None:
    """The batch runner against the real command: the same exit code, lines and rows for one refusal."""
    env, folder = commune
    args, _ = REFUSALS[-1]
    alone = subprocess.run([*PROACTIF, *args], env=env, cwd=folder, capture_output=True, text=True, timeout=300)
    (folder / "one.json").write_text(json.dumps([args]), encoding="utf-8")
    batch = json.loads(subprocess.run(
        [sys.executable, "-m", "tests.cli.run_many", str(folder / "one.json"),
         str(Path(env["PROACTIF_HOME"]) / "proactif.sqlite3")], env={**env, "PYTHONPATH": str(ROOT)}, cwd=folder,
        capture_output=True, text=True, timeout=300, check=True).stdout)[0]
    assert (batch["code"], batch["stdout"], batch["stderr"]) == (alone.returncode, alone.stdout, alone.stderr)
