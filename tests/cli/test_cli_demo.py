"""`proactif demo` and `proactif serve` as an operator runs them, and the journeys' and messages' commands after a
demo: a fresh SQLite database in a temporary home (split from test_cli.py so that the two files' long tests run on
two workers)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import PROACTIF, figures, run


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
