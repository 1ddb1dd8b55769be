"""The alerts map's script puts names it receives (quartiers, streets) into the page as text, never as HTML:
Leaflet inserts a string tooltip or popup with innerHTML, so a quartier named `<img src=x onerror=…>` in an
imported layer would run in the agents' browser."""

import re
from pathlib import Path

import proactif

SCRIPTS = sorted((Path(proactif.__file__).parent).rglob("static/**/*.js"))


def test_tooltips_and_popups_are_given_elements_not_html_strings() -> None:
    calls = []
    for script in SCRIPTS:
        for match in re.finditer(r"\.(bindTooltip|bindPopup|setContent)\(\s*([^,)]+)", script.read_text()):
            calls.append((script.name, match.group(1), match.group(2).strip()))
    assert calls, "the map binds tooltips"
    for name, method, argument in calls:
        assert re.fullmatch(r"[A-Za-z_$][\w$]*", argument) and "." not in argument, (name, method, argument)
    text = (Path(proactif.__file__).parent / "alerts/static/alerts/carte.js").read_text()
    assert re.search(r"(\w+)\.textContent = feature\.properties\.nom", text)
