"""Postal letters: an A4 page per letter (WeasyPrint), the address block placed for a window envelope
(norme NF Z10-011), gathered every day into one PDF and a manifest for the print shop."""

from __future__ import annotations

import hashlib
import html
import json
from datetime import date
from pathlib import Path

from proactif.kernel import csvexport
from proactif.messaging._channels.base import ChannelClient, Outgoing

STYLE = """
@page { size: A4; margin: 0; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; line-height: 1.45; color: #161616; margin: 0; }
.letter { position: relative; width: 210mm; height: 297mm; page-break-after: always; }
.sender { position: absolute; left: 20mm; top: 15mm; width: 80mm; font-size: 9pt; }
.recipient { position: absolute; left: 110mm; top: 50mm; width: 85mm; font-size: 10.5pt; line-height: 1.3;
             white-space: pre-line; }
.date { position: absolute; left: 110mm; top: 90mm; }
.content { position: absolute; left: 20mm; top: 105mm; width: 170mm; }
.subject { font-weight: bold; margin-bottom: 6mm; }
.footer { position: absolute; left: 20mm; bottom: 12mm; width: 170mm; font-size: 8pt; color: #555; }
"""


def letter_html(message: Outgoing, sender_lines: list[str], day: date) -> str:
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in message.body.split("\n\n"))
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre"]
    return (f'<section class="letter"><div class="sender">{"<br>".join(html.escape(s) for s in sender_lines)}</div>'
            f'<div class="recipient">{html.escape(message.recipient)}</div>'
            f'<div class="date">Le {day.day} {months[day.month - 1]} {day.year}</div>'
            f'<div class="content"><div class="subject">Objet : {html.escape(message.subject)}</div>{paragraphs}</div>'
            f'<div class="footer">Réf. {html.escape(message.key[-40:])}</div></section>')


def document(sections: list[str]) -> str:
    return f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><style>{STYLE}</style></head>' \
           f'<body>{"".join(sections)}</body></html>'


class LetterClient(ChannelClient):
    """Lays out the letter and leaves it in the day's pending folder; the daily print batch renders them all
    in one PDF (one WeasyPrint run a day rather than one per letter)."""

    channel = "letter"
    name = "courrier"
    is_sink = True  # letters stay on this machine until a person sends the batch to the print shop
    dedupes = True  # one file per key until the day's batch: written twice, printed once

    def __init__(self, folder: Path, sender_lines: list[str], today: date):
        self.folder = folder
        self.sender_lines = sender_lines
        self.today = today

    def _send(self, message: Outgoing) -> str:
        name = hashlib.sha256(message.key.encode()).hexdigest()[:24]
        pending = self.folder / "pending"
        pending.mkdir(parents=True, exist_ok=True)
        section = letter_html(message, self.sender_lines, self.today)
        (pending / f"{name}.html").write_text(section, encoding="utf-8")
        (pending / f"{name}.json").write_text(json.dumps({
            "key": message.key, "first_line": message.recipient.split("\n")[0],
            "last_line": message.recipient.split("\n")[-1]}), encoding="utf-8")
        return name


def make_batch(folder: Path, stamp: str) -> tuple[Path, Path, int] | None:
    """Gather the pending letters into one PDF and a CSV manifest; None when there is nothing to print."""
    from weasyprint import HTML

    pending = folder / "pending"
    names = sorted(p.stem for p in pending.glob("*.html")) if pending.exists() else []
    if not names:
        return None
    batch = folder / "batches" / stamp
    batch.mkdir(parents=True, exist_ok=True)
    sections = [(pending / f"{n}.html").read_text(encoding="utf-8") for n in names]
    pdf = batch / f"courriers-{stamp}.pdf"
    HTML(string=document(sections)).write_pdf(pdf)
    manifest = batch / f"manifeste-{stamp}.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csvexport.writer(handle)  # names and addresses come from imports: no formula reaches the print shop
        writer.writerow(["page", "reference", "destinataire", "code_postal_commune"])
        for page, name in enumerate(names, start=1):
            meta = json.loads((pending / f"{name}.json").read_text(encoding="utf-8"))
            writer.writerow([page, meta["key"], meta["first_line"], meta["last_line"]])
    for name in names:
        for suffix in (".html", ".json", ".pdf"):
            (pending / f"{name}{suffix}").unlink(missing_ok=True)
    return pdf, manifest, len(names)
