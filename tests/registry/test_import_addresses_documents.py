import csv
from pathlib import Path

import pytest

from proactif.registry import services
from proactif.registry.models import Address, Document, Person, Voie
from tests.conftest import shared_file
from tests.registry import csvgen

pytestmark = pytest.mark.django_db


def test_the_bal_file_of_a_commune_is_imported_once_per_address() -> None:
    path = shared_file("bal-mock-21286-cocorico-fictional.csv")
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
