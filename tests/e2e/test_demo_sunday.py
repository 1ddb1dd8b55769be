"""The demo a newcomer starts on a Sunday: the quiet hours are honoured — the banner says when the first messages
leave (Monday 08:00) and that alerts leave at once — and the interface shows the messages waiting for that
hour, the simulated date flagged. The demo runs as `proactif demo` does, in its own process, on its own port."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import Page

pytestmark = [pytest.mark.e2e]
RESIDENTS = 400
NEXT_SUNDAY_MORNING = """
import django
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
django.setup()
from proactif.kernel import clock, simulation
now = clock.real_now().astimezone(ZoneInfo("Europe/Paris"))
sunday = (now + timedelta(days=(6 - now.weekday()) or 7)).replace(hour=10, minute=30, second=0, microsecond=0)
simulation.set_offset_to(sunday)
print(sunday.isoformat())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


def lines_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """The demo's standard output up to the line holding `marker` (read by a thread: a pipe's buffered lines are
    not seen by select)."""
    found: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            found.put(line.rstrip("\n"))
        found.put(None)

    threading.Thread(target=read, daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = found.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"« {marker} » never came: {lines[-20:]}")


def test_the_demo_started_on_a_sunday_says_when_its_messages_leave(browser, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_", "PROACTIF_"))}
    env.update(PROACTIF_HOME=str(tmp_path), PROACTIF_LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="proactif.settings",
               PYTHONUNBUFFERED="1")  # the banner is read line by line from a pipe
    cli = [sys.executable, "-m", "proactif.cli"]
    subprocess.run([*cli, "demo", "--no-serve", "--residents", str(RESIDENTS)], env=env, check=True,
                   capture_output=True, text=True, timeout=600)
    sunday = datetime.fromisoformat(subprocess.run([sys.executable, "-c", NEXT_SUNDAY_MORNING], env=env, check=True,
                                                   capture_output=True, text=True).stdout.strip())
    monday = sunday + timedelta(days=1)
    port = free_port()
    demo = subprocess.Popen([*cli, "demo", "--residents", str(RESIDENTS), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = lines_until(demo, "Autres comptes", timeout=180)
        text = "\n".join(banner)
        assert f"Adresse : http://127.0.0.1:{port}/" in text
        assert f"les messages non urgents partiront le lundi {monday.day} " in text and "à 08h00" in text
        assert "les alertes partent tout de suite" in text
        login = re.search(r"Connexion : (\S+)\s+mot de passe : (\S+)", text)
        assert login, text

        wait_for_port(port, timeout=90)  # the banner comes before the static files are collected and served
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        tab = Page(context.new_page(), f"http://127.0.0.1:{port}")
        tab.goto("/connexion/")
        tab.page.get_by_label("Adresse e-mail professionnelle").fill(login.group(1))
        tab.page.get_by_label("Mot de passe", exact=True).fill(login.group(2))
        tab.page.get_by_role("button", name="Se connecter").click()
        tab.page.wait_for_url(re.compile(r"/$"))
        assert tab.page.get_by_text("date simulée").is_visible()
        assert tab.page.get_by_text(re.compile(r"dimanche \d+ ")).first.is_visible()
        # the journeys started by the demo wrote their first messages; they wait for Monday morning
        deadline = time.monotonic() + 90
        while True:
            tab.goto("/messages/?status=created")
            waiting = tab.page.locator("#table-messages tbody").inner_text()
            if "pas avant" in waiting or time.monotonic() > deadline:
                break
            time.sleep(3)
        # on Monday from 08:00, each resident at the hour they usually read their messages
        assert re.search(rf"pas avant {monday:%d/%m} (0[89]|1\d|20):\d\d", waiting), waiting[:500]
        assert "Titre d’identité à renouveler" in waiting and "titre.alerte" not in waiting  # named, not coded
        tab.assert_accessible()
        tab.goto("/messages/boite-de-test/")
        assert tab.page.get_by_role("heading", name="Boîte de test").is_visible()
        tab.assert_clean()
        context.close()
    finally:
        demo.terminate()
        demo.wait(timeout=30)
