"""Playwright driving Debian's Chromium (never a downloaded browser) against the live test server."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Playwright's sync API keeps an event loop in this thread; Django's ORM calls from the test body are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (scripts/setup.sh --browser)")
    require(AXE.exists(), "axe-core is not installed (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Page:
    """A browser tab that records CSP violations and page errors, with an axe-core check."""

    def __init__(self, page: Any, base_url: str):
        self.page = page
        self.base_url = base_url
        self.problems: list[str] = []
        page.on("console", lambda msg: self.problems.append(f"{msg.text} @ {page.url}") if msg.type == "error"
                else None)
        page.on("pageerror", lambda error: self.problems.append(f"{error} @ {page.url}"))
        self.dialogs: list[str] = []  # the confirmations asked before irreversible actions, accepted
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.accept()))
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def axe(self) -> list[dict[str, Any]]:
        """Run axe-core (WCAG 2.1 A/AA rules, the basis of RGAA 4) and return the violations."""
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = self.page.evaluate("""async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }""")
        return list(result)

    def assert_accessible(self) -> None:
        violations = self.axe()
        assert violations == [], violations

    def wider_than_viewport(self) -> list[str]:
        return list(self.page.evaluate((Path(__file__).parent / "wider_than_viewport.js").read_text(encoding="utf-8")))

    def wait_until(self, expression: str, timeout: float = 5.0) -> bool:
        """Poll `expression` with page.evaluate (Playwright's wait_for_function evaluates its predicate with eval,
        which the pages' CSP rightly forbids) until it is true or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.page.evaluate(expression):
                return True
            time.sleep(0.1)
        return False

    def assert_fits(self) -> None:
        """The page is no wider than the viewport (charts resize a frame after the viewport changes: wait a
        little for the layout to settle, then measure and name what sticks out)."""
        self.wait_until("document.documentElement.scrollWidth <= document.documentElement.clientWidth", 3.0)
        width = self.page.evaluate("document.documentElement.scrollWidth")
        viewport = self.page.evaluate("document.documentElement.clientWidth")
        assert width <= viewport, (width, self.wider_than_viewport())

    def assert_clean(self) -> None:
        assert self.problems == [], self.problems


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Any]:
    contexts = []

    def make() -> Page:
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return Page(context.new_page(), live_server.url)

    yield make
    for context in contexts:
        context.close()
