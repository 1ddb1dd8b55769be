"""Importing residents, addresses and documents from CSV files.

Every line is validated on its own: a bad line is reported (line, field, reason) and the good
ones are imported. Lines are applied in batches, each batch in one transaction together with the
run's progress, so a crash leaves no half-written line and re-running the same file resumes after
the last committed batch. Upserts are keyed by external id, so importing a file twice changes
nothing the second time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction

from proactif.accounts.domain import Actor
from proactif.audit import services as audit
from proactif.kernel import clock, metrics
from proactif.kernel.logging import get_logger
from proactif.registry._csvfiles import UNREADABLE, CsvFile, open_csv
from proactif.registry.domain import FieldError
from proactif.registry.models import ImportRejection, ImportRun

log = get_logger(__name__)

BATCH_SIZE = 500


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    touched: list[int] = field(default_factory=list)  # people whose data was created or changed (access log)

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass
class ParsedLine:
    line: int
    key: str
    data: dict[str, Any]


@dataclass
class Rejection:
    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class Column:
    """A column an importer reads. The import page lists these and the sample file is written from them, so what
    an agent is told and what the importer checks are the same thing; a test parses the sample files and checks
    that an importer reads no other column."""

    name: str
    format: str  # what a value looks like, as the agent reads it
    examples: tuple[str, ...]  # one value per line of the sample file ("" leaves it empty)
    required: bool = False  # the header must have it (and a line must fill it, unless `format` says otherwise)
    either: str = ""  # required unless this other column is there instead (id_personne or nir)

    @property
    def example(self) -> str:
        return next((value for value in self.examples if value), "")

    @property
    def requirement(self) -> str:
        """« oui », « non », « oui, ou nir »: what the import page says."""
        if self.either:
            return f"oui, ou {self.either}"
        return "oui" if self.required else "non"


def required_of(columns: Iterable[Column]) -> tuple[str, ...]:
    return tuple(c.name for c in columns if c.required)


def sample_csv(columns: Iterable[Column]) -> str:
    """The sample file of an import: the header, then one line per example — UTF-8 with a BOM (so a spreadsheet
    reads the accents), semicolons, CR LF, as the files agents export."""
    columns = list(columns)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    writer.writerows(zip(*(c.examples for c in columns), strict=True))
    return "\ufeff" + out.getvalue()


class Importer(Protocol):
    kind: str
    columns: tuple[Column, ...]  # what the import page lists and the sample file holds
    required_columns: tuple[str, ...]
    section: str  # the section of a person's file the import writes (access log); "" for none

    def check_header(self, header: list[str]) -> None: ...

    def prepare(self, csv_file: CsvFile) -> None: ...

    def parse(self, line: int, row: dict[str, str]) -> ParsedLine | None: ...

    def apply(self, batch: list[ParsedLine]) -> tuple[Counts, list[Rejection]]: ...


class HeaderError(ValueError):
    pass


def require_columns(header: list[str], required: Iterable[str]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise HeaderError(f"colonnes obligatoires absentes : {', '.join(missing)} "
                          f"(colonnes trouvées : {', '.join(header)})")


HOLDER_COLUMNS = ("id_personne", "nir")


def holder_columns(whose: str) -> tuple[Column, Column]:
    """The two columns that name the person a line is about (either is enough), for the import page; `whose`:
    « du titulaire », « de la personne »."""
    return (Column("id_personne", f"identifiant externe {whose} (son id_externe du fichier des habitants)",
                   ("EXEMPLE-0001", "EXEMPLE-0002"), either="nir"),
            Column("nir", "NIR à 15 caractères (clé comprise), si l'identifiant manque", ("", ""),
                   either="id_personne"))


def check_holder_columns(header: list[str]) -> None:
    if not any(column in header for column in HOLDER_COLUMNS):
        raise HeaderError("il faut une colonne id_personne ou nir pour retrouver la personne")


def parse_holder(row: dict[str, str], label: str = "titulaire") -> tuple[str, str | None]:
    """(external id or alias, NIR) naming the person a line is about; one of them is required."""
    from proactif.registry import domain

    holder = row.get("id_personne", "").strip()
    nir = domain.normalise_nir("nir", row.get("nir", ""))
    if not holder and not nir:
        raise FieldError("id_personne", f"{label} obligatoire (id_personne ou nir)")
    return holder, nir


def find_holders(batch: list[ParsedLine]) -> Callable[[ParsedLine], Any]:
    """The registry's people a batch's lines name (by external id, alias or NIR), in three queries; the
    returned function gives a line's person or None."""
    from proactif.registry.models import Person, PersonAlias

    holders = {p.data["holder"] for p in batch if p.data["holder"]}
    people: dict[str, Any] = {p.external_id: p for p in Person.objects.filter(external_id__in=holders)}
    for alias in PersonAlias.objects.filter(external_id__in=holders).select_related("person"):
        people.setdefault(alias.external_id, alias.person)
    by_nir = {p.nir: p for p in Person.objects.filter(nir__in={p.data["nir"] for p in batch if p.data["nir"]})}
    return lambda parsed: people.get(parsed.data["holder"]) or by_nir.get(parsed.data["nir"])


class HolderImporter:
    """What the importers of lines about a registered person share: the columns that name them, today."""

    required_columns: tuple[str, ...] = ()

    def check_header(self, header: list[str]) -> None:
        require_columns(header, self.required_columns)
        check_holder_columns(header)

    def prepare(self, csv_file: CsvFile) -> None:
        self.today = clock.today()


def unknown_holder(parsed: ParsedLine, what: str = "titulaire inconnu") -> Rejection:
    return Rejection(parsed.line, "id_personne" if parsed.data["holder"] else "nir",
                     f"{what} du registre : importez d'abord les habitants")


@dataclass
class ImportReport:
    run_id: int
    kind: str
    file: str
    lines: int = 0
    resumed_from_line: int = 0
    counts: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    skipped: int = 0  # lines deliberately not applied (another position of an address already read)

    def as_dict(self, max_errors: int = 1000) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "kind": self.kind, "file": self.file, "lines": self.lines,
            "resumed_from_line": self.resumed_from_line, "created": self.counts.created,
            "updated": self.counts.updated, "unchanged": self.counts.unchanged,
            "rejected_lines": len({r.line for r in self.rejections}), "skipped": self.skipped,
            "errors": [r.__dict__ for r in self.rejections[:max_errors]],
        }


def run_import(importer: Importer, path: str, *, actor: Actor, purpose: str,
               on_progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE) -> ImportReport:
    csv_file = open_csv(path)
    importer.check_header(csv_file.header)
    run = (ImportRun.objects.filter(kind=importer.kind, sha256=csv_file.sha256)
           .exclude(status="done").order_by("-started_at").first())
    if run is None:
        run = ImportRun.objects.create(kind=importer.kind, filename=str(path)[:500], sha256=csv_file.sha256,
                                       started_at=clock.now(), started_by=actor.label[:254])
    else:
        ImportRun.objects.filter(pk=run.pk).update(status="running", error="")
    try:  # the run ends "done" or "failed" with its reason, never left "running"
        if run.lines_total is None:
            run.lines_total = sum(1 for _ in csv_file.rows())
            ImportRun.objects.filter(pk=run.pk).update(lines_total=run.lines_total)
        importer.prepare(csv_file)
    except Exception as exc:
        _failed(run.pk, exc)
        raise
    report = ImportReport(run.pk, importer.kind, str(path), resumed_from_line=run.lines_done)
    batch: list[ParsedLine] = []
    batch_rejections: list[Rejection] = []
    batch_skipped = 0
    seen: dict[str, int] = {}
    last_line = 1

    def flush() -> None:
        """Apply the batch and commit, in one transaction, its rows, its rejections and the run's figures — each
        line read counted once, in one of created, updated, unchanged, rejected or skipped (the report's lines
        read are their sum, so its figures cannot disagree)."""
        nonlocal batch, batch_rejections, batch_skipped
        with transaction.atomic():
            counts, apply_rejections = importer.apply(batch) if batch else (Counts(), [])
            rejections = batch_rejections + apply_rejections
            rejected = len({r.line for r in rejections})
            ImportRejection.objects.bulk_create(
                ImportRejection(run_id=run.pk, line=r.line, field=r.field[:100], reason=r.reason[:500])
                for r in rejections)
            if counts.touched and importer.section:
                audit.record(actor, "import", purpose=purpose, person_ids=counts.touched,
                             sections=[importer.section], detail={"import_run": run.pk})
            ImportRun.objects.filter(pk=run.pk).update(
                lines_done=last_line, created=run.created + counts.created, updated=run.updated + counts.updated,
                unchanged=run.unchanged + counts.unchanged, rejected=run.rejected + rejected,
                skipped=run.skipped + batch_skipped)
        run.created += counts.created
        run.updated += counts.updated
        run.unchanged += counts.unchanged
        run.rejected += rejected
        run.skipped += batch_skipped
        report.counts.add(counts)
        report.rejections.extend(rejections)
        report.skipped += batch_skipped
        for outcome, value in (("created", counts.created), ("updated", counts.updated),
                               ("unchanged", counts.unchanged), ("rejected", rejected), ("skipped", batch_skipped)):
            metrics.IMPORT_ROWS.labels(kind=importer.kind, outcome=outcome).inc(value)
        batch, batch_rejections, batch_skipped = [], [], 0
        if on_progress:
            on_progress(last_line)

    last_read = 1
    try:
        for line, row in csv_file.rows():
            report.lines += 1
            last_read = line
            already_done = line <= run.lines_done
            if UNREADABLE in row:  # a line the CSV reader could not split (a value past its size limit…)
                if not already_done:
                    batch_rejections.append(Rejection(line, "ligne", row[UNREADABLE]))
                continue
            try:
                parsed = importer.parse(line, row)
            except FieldError as exc:
                if not already_done:
                    batch_rejections.append(Rejection(line, exc.field, exc.reason))
                continue
            if parsed is None:
                batch_skipped += 0 if already_done else 1
                continue
            if parsed.key in seen:
                if not already_done:
                    batch_rejections.append(Rejection(line, "id", f"identifiant « {parsed.key} » déjà présent "
                                                                   f"ligne {seen[parsed.key]} du fichier"))
                continue
            seen[parsed.key] = line
            if already_done:
                continue
            batch.append(parsed)
            last_line = line
            if len(batch) >= batch_size:
                flush()
        last_line = max(last_read, run.lines_done)  # the whole file is read: resuming would start past its end
        flush()
    except Exception as exc:
        _failed(run.pk, exc)
        raise
    ImportRun.objects.filter(pk=run.pk).update(status="done", finished_at=clock.now())
    if run.lines_total is not None and run.lines_read != run.lines_total:
        log.warning("import figures disagree", run_id=run.pk, lines_total=run.lines_total, lines_read=run.lines_read)
    log.info("import finished", kind=importer.kind, run_id=run.pk, created=report.counts.created,
             updated=report.counts.updated, unchanged=report.counts.unchanged,
             rejected=len({r.line for r in report.rejections}))
    return report


def _failed(run_id: int, exc: Exception) -> None:
    ImportRun.objects.filter(pk=run_id).update(status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])


def changed(instance: Any, values: dict[str, Any]) -> bool:
    """Set `values` on `instance`; True if any differed."""
    dirty = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            dirty = True
    return dirty
