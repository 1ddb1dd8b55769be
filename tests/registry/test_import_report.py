"""The import report agrees with itself: every line read is counted once, in one outcome, so created + updated +
unchanged + rejected + skipped = lines read = the file's data lines — whatever its line ends, blank lines or a
header alone — and the page shows the figures and the rejected lines of one moment. And the columns the page
lists and the sample files it offers are the ones the importers read: each sample imports without a rejection."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from proactif.kernel import capabilities
from proactif.registry import services
from proactif.registry._csvfiles import open_csv
from proactif.registry._import_addresses import FORMATS, REQUIRED_FIELDS
from proactif.registry._importers import HeaderError, required_of, sample_csv
from proactif.registry.forms import SAMPLE_FILES
from proactif.registry.models import ImportRejection, ImportRun

pytestmark = pytest.mark.django_db

HEADER = "cle_interop;voie;numero;suffixe;code_postal;code_insee;commune;lon;lat"
# 7 data lines — 4 good, 3 bad (a key, a postcode, the same key twice) — with blank lines between and after
LINES = [HEADER,
         "75056_rpt1_00001;Rue du Rapport;1;;75015;75056;Paris;2.29;48.84",
         "",
         "pas-une-cle;Rue du Rapport;3;;75015;75056;Paris;2.29;48.84",
         "75056_rpt1_00005;Rue du Rapport;5;;7501;75056;Paris;2.29;48.84",
         "   ",
         "",
         "75056_rpt1_00007;Rue du Rapport;7;;75015;75056;Paris;2.29;48.84",
         "75056_rpt1_00009;Rue du Rapport;9;;75015;75056;Paris;2.29;48.84",
         "75056_rpt1_00001;Rue du Rapport;1;;75015;75056;Paris;2.29;48.84",
         "75056_rpt1_00011;Rue du Rapport;11;;75015;75056;Paris;2.29;48.84",
         "", ""]


def outcomes(run: ImportRun) -> dict[str, Any]:
    return {"created": run.created, "updated": run.updated, "unchanged": run.unchanged, "rejected": run.rejected,
            "skipped": run.skipped, "read": run.lines_read, "total": run.lines_total}


def assert_adds_up(run: ImportRun) -> None:
    assert run.created + run.updated + run.unchanged + run.rejected + run.skipped == run.lines_read == run.lines_total
    assert run.rejected == len({r.line for r in ImportRejection.objects.filter(run=run)})


def report_page(client: Client, run_id: int, **headers: str) -> str:
    response = client.get(f"/habitants/imports/{run_id}/", **headers)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode().replace("\u202f", " "))


def assert_page_agrees(page: str, run: ImportRun) -> None:
    """The page says each figure once and never its contrary; its table lists as many lines as it says."""
    rejected = "aucune ligne rejetée" if run.rejected == 0 else \
        f"{run.rejected} ligne{'s' if run.rejected > 1 else ''} rejetée{'s' if run.rejected > 1 else ''}"
    assert rejected in page
    assert page.count("ligne rejetée") + page.count("lignes rejetées") == 1
    assert "Aucune ligne rejetée" not in page.replace("aucune ligne rejetée", "")
    rows = re.findall(r"<tr><td>(\d+)</td>", page)
    assert len(rows) == min(run.rejected, 100)
    if run.lines_total:
        read = f"{run.lines_read} ligne{'s' if run.lines_read > 1 else ''} lue{'s' if run.lines_read > 1 else ''}"
        assert f"{read} sur {run.lines_total}" in page


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_the_figures_of_a_file_with_rejections_and_blank_lines_add_up(tmp_path: Path, client: Client, agents,
                                                                      end: str) -> None:
    path = tmp_path / "adresses.csv"
    path.write_bytes(end.join(LINES).encode("cp1252"))
    report = services.import_file("addresses", str(path)).as_dict()
    run = ImportRun.objects.get(pk=report["run_id"])
    assert outcomes(run) == {"created": 4, "updated": 0, "unchanged": 0, "rejected": 3, "skipped": 0, "read": 7,
                             "total": 7}
    assert_adds_up(run)
    assert report["lines"] == 7 and report["rejected_lines"] == 3
    assert [(r.line, r.field) for r in run.rejections.all()] == [(4, "cle_interop"), (5, "code_postal"), (10, "id")]
    client.force_login(agents["responsable"])
    page = report_page(client, run.pk)
    assert_page_agrees(page, run)
    assert "4 lignes créées" in page and "aucune ligne mise à jour" in page and "7 lignes lues sur 7" in page

    again = ImportRun.objects.get(pk=services.import_file("addresses", str(path)).run_id)
    assert outcomes(again) == {"created": 0, "updated": 0, "unchanged": 4, "rejected": 3, "skipped": 0, "read": 7,
                               "total": 7}


def test_an_uploaded_file_is_counted_as_the_import_counts_it(client: Client, agents) -> None:
    """The total is counted when the file is received, the lines read as they are imported: the same lines."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(agents["responsable"])
    content = "\r".join(LINES).encode("utf-8")
    response = client.post("/habitants/imports/", {"kind": "addresses", "file": SimpleUploadedFile("a.csv", content)},
                           follow=True)
    run = ImportRun.objects.latest("id")
    assert run.status == "done"
    assert_adds_up(run)
    page = re.sub(r"\s+", " ", response.content.decode())
    assert_page_agrees(page, run)
    assert "3 lignes rejetées" in page and "7 lignes lues sur 7" in page


@pytest.mark.parametrize("content", [HEADER + "\n", HEADER + "\r\r\n\r;;\r", HEADER],
                         ids=["LF", "CR-and-blank-lines", "no-line-end"])
def test_a_header_alone_is_an_import_of_nothing_said_once(tmp_path: Path, client: Client, agents,
                                                         content: str) -> None:
    path = tmp_path / "vide.csv"
    path.write_text(content, encoding="utf-8")
    run = ImportRun.objects.get(pk=services.import_file("addresses", str(path)).run_id)
    assert outcomes(run) == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "skipped": 0, "read": 0,
                             "total": 0}
    assert run.status == "done"
    client.force_login(agents["responsable"])
    page = report_page(client, run.pk)
    assert "aucune ligne de données" in page and "aucune ligne créée" in page
    assert_page_agrees(page, run)
    assert "<table" not in page and "<progress" not in page


def test_positions_not_kept_are_counted_as_skipped(tmp_path: Path, client: Client, agents) -> None:
    path = tmp_path / "bal.csv"
    path.write_text(
        "cle_interop;commune_insee;commune_nom;voie_nom;lieudit_complement_nom;numero;suffixe;position;long;lat\n"
        "21999_bal1_00001;21999;Belleroche;Rue Haute;;1;;logement;4.85;47.32\n"
        "21999_bal1_00001;21999;Belleroche;Rue Haute;;1;;entrée;4.85;47.32\n"
        "\n"
        "21999_bal1_00003;21999;Belleroche;Rue Haute;;3;;entrée;4.85;47.32\n", encoding="utf-8")
    run = ImportRun.objects.get(pk=services.import_file("addresses", str(path)).run_id)
    assert outcomes(run) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0, "skipped": 1, "read": 3,
                             "total": 3}
    client.force_login(agents["responsable"])
    page = report_page(client, run.pk)
    assert "1 ligne ignorée" in page and "3 lignes lues sur 3" in page
    assert_page_agrees(page, run)


def test_a_resumed_import_counts_each_line_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from proactif.registry._import_addresses import AddressImporter

    lines = [HEADER] + [f"75056_rsm1_{i:05d};Rue de la Reprise;{i};;75015;75056;Paris;2.29;48.84" if i % 4 else
                        f"pas-une-cle-{i};Rue de la Reprise;{i};;75015;75056;Paris;2.29;48.84" for i in range(1, 31)]
    lines[10:10] = ["", ""]
    path = tmp_path / "reprise.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    apply = AddressImporter.apply
    calls = {"n": 0}

    def crash_on_third_batch(self: AddressImporter, batch: list[Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("coupure")
        return apply(self, batch)

    monkeypatch.setattr(AddressImporter, "apply", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        services.import_file("addresses", str(path), batch_size=5)
    stopped = ImportRun.objects.latest("id")
    assert stopped.status == "failed" and 0 < stopped.lines_read < 30
    monkeypatch.setattr(AddressImporter, "apply", apply)
    report = services.import_file("addresses", str(path), batch_size=5)
    run = ImportRun.objects.get(pk=report.run_id)
    assert run.pk == stopped.pk and run.status == "done"
    assert outcomes(run) == {"created": 23, "updated": 0, "unchanged": 0, "rejected": 7, "skipped": 0, "read": 30,
                             "total": 30}
    assert_adds_up(run)


def test_a_running_import_is_polled_whole(client: Client, agents) -> None:
    """While it runs, the page asks for the whole report again — figures and rejected lines together, never the
    figures alone above a table drawn before the first rejection."""
    from proactif.kernel import clock

    run = ImportRun.objects.create(kind="residents", filename="habitants.csv", sha256="1" * 64, started_at=clock.now(),
                                   status="running", lines_total=40, lines_done=12, created=8, rejected=2)
    for line in (3, 7):
        ImportRejection.objects.create(run=run, line=line, field="sexe", reason="sexe invalide « X » (attendu F ou M)")
    client.force_login(agents["responsable"])
    fragment = report_page(client, run.pk, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in fragment and "<h1" not in fragment
    assert_page_agrees(fragment, run)
    assert "10 lignes lues sur 40" in fragment and "2 lignes rejetées" in fragment
    assert fragment.index('hx-get=') < fragment.index("<table")  # the table is inside what is polled
    assert_page_agrees(report_page(client, run.pk), run)
    ImportRun.objects.filter(pk=run.pk).update(status="done", lines_done=41, created=38)
    done = report_page(client, run.pk, HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done and "40 lignes lues sur 40" in done


# --- the columns and the sample files -----------------------------------------------------------------------
class Recording(dict[str, str]):
    """A row that remembers which columns were read."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize("kind", list(services.IMPORTERS))
def test_an_importer_reads_the_columns_it_declares_and_no_other(tmp_path: Path, kind: str) -> None:
    importer = services.IMPORTERS[kind]()
    path = tmp_path / "exemple.csv"
    path.write_text(sample_csv(importer.columns), encoding="utf-8")
    csv_file = open_csv(path)
    importer.check_header(csv_file.header)
    importer.prepare(csv_file)
    read: set[str] = set()
    for line, row in csv_file.rows():
        recording = Recording(row)
        assert importer.parse(line, recording) is not None
        read |= recording.read
    declared = {c.name for c in importer.columns}
    assert read - {"__extra__"} == declared
    assert importer.required_columns == required_of(importer.columns)
    for column in importer.required_columns:  # a header without any required column is refused
        with pytest.raises(HeaderError):
            services.IMPORTERS[kind]().check_header([c for c in csv_file.header if c != column])
    if kind == "addresses":
        assert required_of(importer.columns) == tuple(FORMATS["proactif"][f] for f in REQUIRED_FIELDS)
        assert declared == {name for name in FORMATS["proactif"].values() if name}


def test_the_sample_files_import_without_a_rejection(tmp_path: Path, client: Client, agents) -> None:
    client.force_login(agents["responsable"])
    for kind in ("addresses", "residents", "documents", "resources", "benefits"):  # in the order the page gives
        if kind in SAMPLE_FILES:
            response = client.get(f"/habitants/imports/exemple-{SAMPLE_FILES[kind]}.csv")
            assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
            assert f'filename="exemple-{SAMPLE_FILES[kind]}.csv"' in response["Content-Disposition"]
            content = response.content
            assert content.startswith("\ufeff".encode()) and b"\r\n" in content
        else:  # the monthly feeds are imported from the command line: their sample is the same function's
            content = sample_csv(services.IMPORTERS[kind].columns).encode("utf-8")
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(content)
        report = services.import_file(kind, str(path)).as_dict()
        assert report["errors"] == [] and report["created"] == 2, (kind, report)
        assert_adds_up(ImportRun.objects.get(pk=report["run_id"]))


def test_the_page_lists_each_column_with_its_sample_under_the_same_rule(client: Client, agents) -> None:
    client.force_login(agents["responsable"])
    page = client.get("/habitants/imports/").content.decode()
    for kind, name in SAMPLE_FILES.items():
        assert f'href="/habitants/imports/exemple-{name}.csv"' in page
        for column in services.IMPORTERS[kind].columns:
            assert f"<code>{column.name}</code>" in page
    assert "oui, ou nir" in page and "F ou M" in page and "EXEMPLE-0001" in page
    rules = {r.name: r.rule for c in capabilities.declared() for p in c.pages for r in p.routes
             if p.namespace == "registry"}
    assert rules["import_sample"] is rules["imports"]
    other = Client()
    other.force_login(agents["etat_civil"])  # an agent, not a keeper of the registry
    assert other.get("/habitants/imports/").status_code == 403
    assert other.get("/habitants/imports/exemple-habitants.csv").status_code == 403
    assert client.get("/habitants/imports/exemple-inconnu.csv").status_code == 404
