"""Monthly feeds: resources (montant net social) and benefits paid, per person and month, with line-level
reports; a corrected feed updates its months; the same file twice changes nothing; the person's GDPR export
and erasure include them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from proactif.registry import _gdpr as gdpr
from proactif.registry import services
from proactif.registry.models import BenefitPayment, MonthlyResource, Person
from tests.registry import csvgen

pytestmark = pytest.mark.django_db


@pytest.fixture
def residents(tmp_path: Path) -> list[Person]:
    addresses = tmp_path / "adresses.csv"
    keys = csvgen.address_file(addresses)
    services.import_file("addresses", str(addresses))
    path = tmp_path / "habitants.csv"
    csvgen.write(path, csvgen.resident_rows(3, keys))
    services.import_file("residents", str(path))
    return [Person.objects.get(external_id=f"E00000{n}") for n in range(3)]


def test_monthly_resources_are_imported_line_by_line_and_reimported_idempotently(tmp_path: Path, residents) -> None:
    from stdnum.fr import nir

    first, second, _ = residents
    second.nir = "1850578006084" + nir.calc_check_digits("1850578006084")  # found by NIR below
    second.save(update_fields=["nir"])
    path = tmp_path / "ressources.csv"
    path.write_text(
        "id_personne;nir;mois;type;montant_net_social\n"
        "E000000;;2026-09;salaire;1 734,12\n"
        f";{second.nir};09/2026;chomage;1020.5\n"
        "E000000;;2026-10;salaire;1 734,12 €\n"
        "E999999;;2026-10;salaire;1000\n"
        "E000001;;2026-13;salaire;1000\n"
        "E000001;;2026-10;loterie;1000\n"
        "E000001;;2026-10;salaire;-5\n"
        "E000001;;2099-01;salaire;100\n"
        ";;2026-10;salaire;100\n", encoding="utf-8")
    report = services.import_file("resources", str(path))
    assert sorted((r.line, r.field) for r in report.rejections) == [
        (5, "id_personne"), (6, "mois"), (7, "type"), (8, "montant_net_social"), (9, "mois"), (10, "id_personne")]
    assert (report.counts.created, report.counts.updated) == (3, 0)
    assert MonthlyResource.objects.get(person=first, month__month=10).amount == Decimal("1734.12")
    assert MonthlyResource.objects.get(person=second).kind == "chomage"
    again = services.import_file("resources", str(path))
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    corrected = tmp_path / "ressources-corrigees.csv"
    corrected.write_text("id_personne;mois;type;montant_net_social\nE000000;2026-10;salaire;1800\n", encoding="utf-8")
    fixed = services.import_file("resources", str(corrected))
    assert (fixed.counts.created, fixed.counts.updated) == (0, 1)
    assert MonthlyResource.objects.get(person=first, month__month=10).amount == Decimal("1800.00")


def test_a_feed_may_carry_the_gross_and_taxable_amounts_beside_the_net_one(tmp_path: Path, residents) -> None:
    """The DSN and PASRAU declarations carry them: the benefits do not all read the same amount (the ASPA reads
    gross pensions). Empty cells are unknown amounts, a bad one is rejected with its column, a correction updates
    them, and they are part of the person's GDPR export."""
    first, second, _ = residents
    path = tmp_path / "ressources.csv"
    path.write_text("id_personne;mois;type;montant_net_social;montant_brut;montant_imposable\n"
                    "E000000;2026-10;retraite;1 180,50;1 300,00;1 215,60\n"
                    "E000001;2026-10;salaire;1500;;\n"
                    "E000001;2026-09;salaire;1500;abc;\n", encoding="utf-8")
    report = services.import_file("resources", str(path))
    assert [(r.line, r.field) for r in report.rejections] == [(4, "montant_brut")]
    pension = MonthlyResource.objects.get(person=first)
    assert (pension.amount, pension.gross_amount, pension.taxable_amount) == (
        Decimal("1180.50"), Decimal("1300.00"), Decimal("1215.60"))
    wage = MonthlyResource.objects.get(person=second)
    assert (wage.gross_amount, wage.taxable_amount) == (None, None)
    path.write_text("id_personne;mois;type;montant_net_social;montant_brut\nE000001;2026-10;salaire;1500;1925\n",
                    encoding="utf-8")
    assert services.import_file("resources", str(path)).counts.updated == 1
    assert MonthlyResource.objects.get(person=second).gross_amount == Decimal("1925.00")
    assert {"mois": "2026-10", "type": "retraite", "montant": "1180.50", "montant_brut": "1300.00",
            "montant_imposable": "1215.60", "source": "import"} in gdpr.export(first.pk)["ressources_mensuelles"]


def test_benefits_paid_are_imported_and_part_of_the_persons_gdpr_export_and_erasure(tmp_path: Path,
                                                                                   residents) -> None:
    first = residents[0]
    path = tmp_path / "prestations.csv"
    path.write_text("id_personne;mois;prestation;montant\n"
                    "E000000;2026-10;prime_activite;187,40\n"
                    "E000000;2026-10;rsa;0\n"
                    "E000000;2026-10;apl;200\n", encoding="utf-8")
    report = services.import_file("benefits", str(path))
    assert [(r.line, r.field) for r in report.rejections] == [(4, "prestation")]
    assert BenefitPayment.objects.filter(person=first).count() == 2
    exported = gdpr.export(first.pk)
    assert {"mois": "2026-10", "prestation": "prime_activite", "montant": "187.40", "source": "import"} in exported[
        "prestations_versees"]
    gdpr.erase(first.pk)
    assert not BenefitPayment.objects.filter(person=first).exists()


def test_a_feed_without_a_way_to_name_the_person_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "flux.csv"
    path.write_text("mois;type;montant_net_social\n2026-10;salaire;1000\n", encoding="utf-8")
    with pytest.raises(services.HeaderError, match="id_personne ou nir"):
        services.import_file("resources", str(path))
