from pathlib import Path

import pytest

from proactif.registry import services
from proactif.registry._importers import HeaderError
from proactif.registry.models import ContactPoint, ImportRun, Person, PersonAlias
from tests.registry import csvgen

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(tmp_path: Path) -> list[str]:
    path = tmp_path / "adresses.csv"
    keys = csvgen.address_file(path)
    report = services.import_file("addresses", str(path))
    assert report.counts.created == len(keys)
    return keys


def test_five_percent_malformed_lines_are_reported_and_every_good_line_imported(tmp_path: Path, keys) -> None:
    path = tmp_path / "habitants.csv"
    bad = csvgen.malformed_file(path, keys, count=1000)
    assert len(bad) == 50
    before = Person.objects.count()
    report = services.import_file("residents", str(path))
    figures = report.as_dict()
    rejected = {r.line: r for r in report.rejections}
    assert set(rejected) == set(bad)  # every bad line, and only those
    for line, (field, words) in bad.items():
        assert rejected[line].field == field, line
        assert words in rejected[line].reason, (line, rejected[line].reason)
    assert figures["created"] == 950 and figures["rejected_lines"] == 50
    assert Person.objects.count() == before + 950
    good_ids = {f"E{i:06d}" for i in range(1000)} - {f"E{line - 2:06d}" for line in bad}
    assert set(Person.objects.filter(external_id__startswith="E").values_list("external_id", flat=True)) == good_ids
    run = ImportRun.objects.get(pk=report.run_id)
    assert (run.status, run.created, run.rejected, run.rejections.count()) == ("done", 950, 50, 50)

    again = services.import_file("residents", str(path)).as_dict()
    assert (again["created"], again["updated"], again["unchanged"], again["rejected_lines"]) == (0, 0, 950, 50)
    assert Person.objects.count() == before + 950


def test_households_contacts_and_preferences_are_imported(tmp_path: Path, keys) -> None:
    path = tmp_path / "habitants.csv"
    csvgen.write(path, csvgen.resident_rows(10, keys))
    services.import_file("residents", str(path))
    first, second = Person.objects.get(external_id="E000000"), Person.objects.get(external_id="E000001")
    assert first.household_id == second.household_id and first.household.address.cle_interop == keys[0]
    assert (first.menage_role, second.menage_role) == ("personne_de_reference", "conjoint")
    assert first.famille_id == second.famille_id and first.foyer_role == "declarant"
    assert list(first.channel_preferences.values_list("channel", flat=True)) == ["sms", "email"]
    assert ContactPoint.objects.filter(person=second, kind="email").exists()
    phone = ContactPoint.objects.get(person=second, kind="phone")
    assert phone.value.startswith("+336") and phone.is_mobile
    postal = ContactPoint.objects.get(person=Person.objects.get(external_id="E000003"), kind="postal")
    assert postal.value == "RÉSIDENCE LES TILLEULS\nAPPARTEMENT 12\nBP 40\n21999 BELLEROCHE"


def test_a_changed_line_updates_only_that_person(tmp_path: Path, keys) -> None:
    path = tmp_path / "habitants.csv"
    rows = csvgen.resident_rows(20, keys)
    csvgen.write(path, rows)
    services.import_file("residents", str(path))
    rows[4]["nom_usage"] = "Dupont"
    rows[7]["email"] = "nouvelle.adresse@exemple.fr"
    csvgen.write(path, rows)
    figures = services.import_file("residents", str(path)).as_dict()
    assert (figures["created"], figures["updated"], figures["unchanged"]) == (0, 2, 18)
    assert Person.objects.get(external_id="E000004").nom_usage == "Dupont"


def test_a_crash_mid_import_leaves_no_half_written_line_and_a_rerun_resumes(tmp_path: Path, keys,
                                                                            monkeypatch) -> None:
    from proactif.registry._import_residents import ResidentImporter

    path = tmp_path / "habitants.csv"
    csvgen.write(path, csvgen.resident_rows(250, keys))
    real_apply = ResidentImporter.apply
    calls = {"n": 0}

    def crash_on_third_batch(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            real_apply(self, batch[:10])  # half the work is done, then the process dies
            raise RuntimeError("power cut")
        return real_apply(self, batch)

    monkeypatch.setattr(ResidentImporter, "apply", crash_on_third_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        services.import_file("residents", str(path), batch_size=50)
    run = ImportRun.objects.get(sha256__isnull=False, status="failed")
    assert run.lines_done == 101  # two batches of 50 committed (lines 2–101)
    assert Person.objects.filter(external_id__startswith="E").count() == 100  # the third batch rolled back
    monkeypatch.setattr(ResidentImporter, "apply", real_apply)
    report = services.import_file("residents", str(path), batch_size=50)
    assert report.run_id == run.pk and report.resumed_from_line == 101
    assert report.counts.created == 150
    assert Person.objects.filter(external_id__startswith="E").count() == 250
    assert ImportRun.objects.get(pk=run.pk).created == 250


def test_a_new_identifier_for_a_known_person_links_instead_of_duplicating(tmp_path: Path, keys) -> None:
    path = tmp_path / "habitants.csv"
    rows = csvgen.resident_rows(3, keys)
    csvgen.write(path, rows)
    services.import_file("residents", str(path))
    other_source = [dict(rows[1], id_externe="CAF-778899", email="", telephone="")]  # same identity pivot
    csvgen.write(path, other_source)
    figures = services.import_file("residents", str(path)).as_dict()
    assert figures["created"] == 0 and figures["updated"] == 1
    alias = PersonAlias.objects.get(external_id="CAF-778899")
    assert alias.person.external_id == "E000001"
    assert services.import_file("residents", str(path)).as_dict()["unchanged"] == 1


def test_a_shared_phone_and_birth_date_under_other_names_is_a_suggestion_not_an_overwrite(
        tmp_path: Path, keys) -> None:
    """The probe's case: "Durand Marc" is known; another source sends "Lefevre Luc" with the same phone and birth
    date under a new identifier. Before, the line was linked to Durand and overwrote his names; now it is a new
    person and the pair a duplicate suggestion for an agent. A spelling variant of the same names still links."""
    from proactif.registry.models import MergeSuggestion

    path = tmp_path / "habitants.csv"
    durand = dict(csvgen.resident_rows(1, keys)[0], id_externe="SRC1-1", nom_naissance="Durand", prenoms="Marc",
                  sexe="M", nir="", email="", telephone="06 12 34 56 78", date_naissance="14/03/1981")
    csvgen.write(path, [durand])
    services.import_file("residents", str(path))
    marc = Person.objects.get(external_id="SRC1-1")

    lefevre = dict(durand, id_externe="SRC2-9", nom_naissance="Lefevre", prenoms="Luc", id_foyer="G1")
    csvgen.write(path, [lefevre])
    figures = services.import_file("residents", str(path)).as_dict()
    assert (figures["created"], figures["updated"]) == (1, 0)
    marc.refresh_from_db()
    assert (marc.nom_naissance, marc.prenoms, marc.external_id) == ("Durand", "Marc", "SRC1-1")
    assert not PersonAlias.objects.filter(external_id="SRC2-9").exists()
    luc = Person.objects.get(external_id="SRC2-9")
    assert (luc.nom_naissance, luc.prenoms) == ("Lefevre", "Luc")
    suggestion = MergeSuggestion.objects.get(person_a_id=min(marc.pk, luc.pk), person_b_id=max(marc.pk, luc.pk))
    assert suggestion.status == "pending" and "même téléphone" in suggestion.reasons
    assert "noms différents" in suggestion.reasons[0]

    variant = dict(durand, id_externe="SRC3-4", nom_naissance="DURAND", prenoms="Marc Antoine", id_foyer="G2")
    csvgen.write(path, [variant])
    assert services.import_file("residents", str(path)).as_dict()["created"] == 0
    assert PersonAlias.objects.get(external_id="SRC3-4").person_id == marc.pk


def test_a_file_without_the_required_columns_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "habitants.csv"
    path.write_text("nom;prenom\nMartin;Jean\n", encoding="utf-8")
    with pytest.raises(HeaderError, match="id_externe"):
        services.import_file("residents", str(path))


def test_windows_1252_and_comma_separated_files_are_read(tmp_path: Path, keys) -> None:
    path = tmp_path / "habitants.csv"
    csvgen.write(path, csvgen.resident_rows(5, keys), sep=",")
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    assert services.import_file("residents", str(path)).counts.created == 5
    assert Person.objects.filter(nom_naissance="Lefèvre").exists() or \
        Person.objects.filter(external_id__startswith="E").count() == 5


def test_every_person_an_import_creates_or_changes_is_in_the_access_log(tmp_path: Path, keys) -> None:
    from proactif.audit.models import AccessLog

    path = tmp_path / "habitants.csv"
    rows = csvgen.resident_rows(12, keys)
    csvgen.write(path, rows)
    report = services.import_file("residents", str(path))
    logged = AccessLog.objects.filter(action="import", detail__import_run=report.run_id)
    assert set(logged.values_list("person_id", flat=True)) == set(
        Person.objects.filter(external_id__startswith="E").values_list("pk", flat=True))
    assert set(logged.values_list("purpose", flat=True)) == {"etat_civil"}
    rows[3]["nom_usage"] = "Durand"
    csvgen.write(path, rows)
    again = services.import_file("residents", str(path))
    changed = AccessLog.objects.filter(action="import", detail__import_run=again.run_id)
    assert list(changed.values_list("person_id", flat=True)) == [Person.objects.get(external_id="E000003").pk]
