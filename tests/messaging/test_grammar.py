"""Grammalecte (Debian's `grammalecte-cli`, installed by scripts/setup.sh) reads every text a resident receives
from the shipped templates — each channel at once in one call — with the channel's options: SMS stay in the
GSM-7 alphabet, so typographic apostrophes and no-break spaces are not asked of them; the other channels are
typeset (`messaging.domain.typeset`) and checked with every default option. Zero errors left, but for the
committed exceptions (`grammar_exceptions.yaml`), each with its reason."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import require
from tests.messaging.texts import rendered

EXCEPTIONS = yaml.safe_load((Path(__file__).parent / "grammar_exceptions.yaml").read_text(encoding="utf-8"))
OPTIONS = {"sms": ["-off", "apos", "nbsp", "unit"]}


def grammalecte(texts: list[str], options: list[str], tmp_path: Path) -> list[dict[str, Any]]:
    """Every report on `texts` (one paragraph per line of each text), each with the paragraph it is in."""
    paragraphs = [line for text in texts for line in text.splitlines() if line.strip()]
    source = tmp_path / "texts.txt"
    source.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    out = subprocess.run(["grammalecte-cli", "-f", str(source), "-j", "-ctx", *options], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    data = json.loads(out[out.index("{"):])
    reports = []
    for paragraph in data["data"]:
        for error in paragraph["lGrammarErrors"]:
            context = error["sBefore"][-40:] + "[" + error["sUnderlined"] + "]" + error["sAfter"][:40]
            reports.append({"rule": error["sRuleId"], "text": error["sUnderlined"], "message": error["sMessage"],
                            "context": context})
        for error in paragraph["lSpellingErrors"]:
            reports.append({"word": error["sValue"], "text": error["sValue"]})
    return reports


def excused(report: dict[str, Any], channel: str) -> bool:
    for entry in EXCEPTIONS:
        if entry.get("channel", channel) != channel:
            continue
        if "word" in entry and report.get("word") == entry["word"]:
            return True
        if "rule" in entry and report.get("rule", "").startswith(entry["rule"]) \
                and entry.get("text", report["text"]) == report["text"]:
            return True
    return False


def test_every_text_a_resident_receives_passes_grammalecte(tmp_path: Path) -> None:
    require(shutil.which("grammalecte-cli") is not None, "grammalecte-cli is absent (scripts/setup.sh --browser)")
    assert all(e.get("reason") for e in EXCEPTIONS), "every exception says why"
    by_channel: dict[str, list[str]] = defaultdict(list)
    for channel, _key, _variant, text in rendered():
        by_channel[channel].append(text)
    figures, left = {}, []
    for channel, texts in sorted(by_channel.items()):
        reports = grammalecte(texts, OPTIONS.get(channel, []), tmp_path)
        unexplained = [r for r in reports if not excused(r, channel)]
        figures[channel] = {"texts": len(texts), "reports": len(reports), "errors": len(unexplained)}
        left += [(channel, r) for r in unexplained]
    print(f"grammalecte: {figures}")
    assert set(figures) >= {"sms", "email", "letter", "push", "whatsapp"}
    assert sum(f["texts"] for f in figures.values()) > 150
    assert left == []


def test_the_checker_does_find_an_agreement_error(tmp_path: Path) -> None:
    """Against a silent checker: the error of the last outside review is still caught."""
    require(shutil.which("grammalecte-cli") is not None, "grammalecte-cli is absent (scripts/setup.sh --browser)")
    reports = grammalecte(["Votre carte d'identité est prêt. Repondez OK."], OPTIONS["sms"], tmp_path)
    assert any(r.get("text") == "prêt" for r in reports) and any(r.get("word") == "Repondez" for r in reports)
