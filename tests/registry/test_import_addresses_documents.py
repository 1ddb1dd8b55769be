import csv
from pathlib import Path

import pytest

from proactif.registry import services
from proactif.registry.models import Address, Document, Person, Voie
from tests.conftest import reference_file
from tests.registry import csvgen

pytestmark = pytest.mark.django_db


def test_the_bal_file_of_a_commune_is_imported_once_per_address() -> None:
    path = reference_file("bal-mock-21286-cocorico-fictional.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    keys = {row["cle_interop"].lower() for row in rows}
    report = services.import_file("addresses", str(path)).as_dict()
    assert report["created"] == len(keys) and report["rejected_lines"] == 0
    assert report["skipped"] == len(rows) - len(keys)  # the "logement" positions of addresses listed twice
    rhoam = Address.objects.get(cle_interop="21286_2xdjog_00001")
    assert (rhoam.numero, rhoam.voie.nom, rhoam.code_insee, rhoam.commune) == (1, "Rue Rhoam Bosphoramus", "21286",
                                                                               "Cocorico")
    assert (round(rhoam.lon, 6), round(rhoam.lat, 6)) == (1.081243, 48.769923)  # the entrée, not the logement
    assert Address.objects.get(cle_interop="21286_b010_99999").numero is None  # lieu-dit without a number
    assert Voie.objects.filter(code_insee="21286").count() == len({row["voie_nom"] for row in rows})
    again = services.import_file("addresses", str(path)).as_dict()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, len(keys))


def test_addresses_inside_a_quartier_polygon_get_that_quartier(tmp_path: Path) -> None:
    quartier = services.quartiers().first()
    from shapely.geometry import shape

    point = shape(quartier.geometry).representative_point()
    path = tmp_path / "adresses.csv"
    path.write_text("cle_interop;voie;numero;code_postal;code_insee;commune;lon;lat\n"
                    f"75101_zz99_00001;Rue du Test;1;75001;75101;Paris;{point.x};{point.y}\n"
                    "75101_zz99_00003;Rue du Test;3;75001;75101;Paris;;\n"
                    "75101_zz99_00005;Rue du Test;5;7500;75101;Paris;200;48\n", encoding="utf-8")
    report = services.import_file("addresses", str(path))
    assert Address.objects.get(cle_interop="75101_zz99_00001").quartier_id == quartier.pk
    assert Address.objects.get(cle_interop="75101_zz99_00003").quartier_id is None
    assert [(r.line, r.field) for r in report.rejections] == [(4, "code_postal")]


def test_documents_are_attached_to_their_holders_with_legal_expiry(tmp_path: Path) -> None:
    addresses = tmp_path / "adresses.csv"
    keys = csvgen.address_file(addresses)
    services.import_file("addresses", str(addresses))
    residents = tmp_path / "habitants.csv"
    rows = csvgen.resident_rows(4, keys)
    csvgen.write(residents, rows)
    services.import_file("residents", str(residents))
    holder = Person.objects.get(external_id="E000000")
    path = tmp_path / "titres.csv"
    path.write_text(
        "id_externe;id_personne;nir;type;numero;date_delivrance;date_expiration;statut\n"
        "D1;E000000;;passeport;18AB12345;15/03/2020;;\n"
        f"D2;;{holder.nir};cni;X4RTBPFW4;2022-06-01;;valide\n"
        "D3;E999999;;cni;;01/01/2020;;\n"
        "D4;E000001;;passeport;ABC;01/01/2020;;\n"
        "D5;E000001;;cni;;01/01/2020;01/01/2019;\n"
        "D6;E000001;;carte_piscine;P-1;01/09/2026;31/08/2027;\n", encoding="utf-8")
    report = services.import_file("documents", str(path))
    assert sorted((r.line, r.field) for r in report.rejections) == [(4, "id_personne"), (5, "numero"),
                                                                     (6, "date_expiration")]
    passport = Document.objects.get(external_id="D1")
    assert passport.person == holder and passport.expires_on.isoformat() == "2030-03-14"
    assert Document.objects.get(external_id="D2").person == holder
    assert Document.objects.get(external_id="D6").kind == "carte_piscine"


def _address_lines(count: int) -> list[str]:
    return ["cle_interop;voie;numero;suffixe;code_postal;code_insee;commune;lon;lat"] + [
        f"21999_cr12_{i:05d};Rue des Roses;{i};;21999;21999;Belleroche;4.85{i:02d};47.32" for i in range(1, count + 1)]


def test_a_file_with_cr_only_line_ends_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes("\r".join(_address_lines(5)).encode("cp1252") + b"\r")
    report = services.import_file("addresses", str(path)).as_dict()
    assert report["lines"] == 5 and report["created"] == 5 and report["rejected_lines"] == 0


@pytest.mark.parametrize("quoted", [False, True])
def test_a_200_kb_value_rejects_its_line_and_the_run_ends(tmp_path: Path, quoted: bool) -> None:
    from proactif.registry.models import ImportRun

    lines = _address_lines(5)
    huge = "R" * 200_000
    lines[3] = lines[3].replace("Rue des Roses", f'"{huge}"' if quoted else huge)
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = services.import_file("addresses", str(path)).as_dict()
    assert report["created"] == 4
    assert report["errors"] == [{"line": 4, "field": "ligne", "reason": "valeur de plus de 131 072 caractères"}]
    run = ImportRun.objects.get(pk=report["run_id"])
    assert run.status == "done" and run.rejected == 1 and run.lines_total == 5


def test_a_run_that_cannot_start_ends_failed_with_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from proactif.registry import _csvfiles
    from proactif.registry.models import ImportRun

    path = tmp_path / "a.csv"
    path.write_text("\n".join(_address_lines(2)) + "\n", encoding="utf-8")

    def unreadable(self: _csvfiles.CsvFile) -> None:
        raise OSError("disque illisible")

    monkeypatch.setattr(_csvfiles.CsvFile, "rows", unreadable)
    with pytest.raises(OSError, match="disque illisible"):
        services.import_file("addresses", str(path))
    run = ImportRun.objects.latest("id")
    assert run.status == "failed" and "disque illisible" in run.error
