from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from proactif.accounts.domain import system_actor
from proactif.audit import services as audit
from proactif.audit.models import AccessLog, AppendOnlyError

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")


def test_rows_cannot_be_changed_or_deleted_through_the_orm() -> None:
    audit.record(ACTOR, "view", purpose="etat_civil", person_ids=[1], sections=["identite"])
    row = AccessLog.objects.latest("id")
    row.action = "nothing"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.filter(pk=row.pk).update(action="nothing")
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.all().delete()


def test_the_database_refuses_updates_too() -> None:
    audit.record(ACTOR, "view", purpose="etat_civil", person_ids=[2], sections=["identite"])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_accesslog SET action = 'x'")


def test_the_retention_purge_removes_only_old_rows(fixed_clock) -> None:
    audit.record(ACTOR, "view", purpose="etat_civil", person_ids=[3], sections=["identite"])
    fixed_clock.advance(timedelta(days=400))
    audit.record(ACTOR, "view", purpose="etat_civil", person_ids=[4], sections=["identite"])
    assert audit.purge_older_than(365) >= 1
    assert not AccessLog.objects.filter(person_id=3).exists()
    assert AccessLog.objects.filter(person_id=4).exists()


def test_csv_export_has_one_line_per_row_and_no_personal_data() -> None:
    audit.record(ACTOR, "view", purpose="etat_civil", person_ids=[5, 6], sections=["identite", "contacts"])
    lines = "".join(audit.export_csv(audit.LogFilter(person_id=5))).strip().splitlines()
    assert lines[0].startswith("horodatage;acteur_type")
    assert len(lines) == 3 and all(";5;" in line for line in lines[1:])


def test_csv_export_neutralises_formulas_in_rows_stored_before_the_request_id_check() -> None:
    import csv
    import io

    from proactif.kernel.middleware import RequestMeta, current_request

    token = current_request.set(RequestMeta('=HYPERLINK("https://evil.example","x")', "192.0.2.1"))
    try:
        audit.record(ACTOR, "view", purpose="etat_civil", person_ids=[7], sections=["identite"])
    finally:
        current_request.reset(token)
    text = "".join(audit.export_csv(audit.LogFilter(person_id=7)))
    row = list(csv.reader(io.StringIO(text), delimiter=";"))[1]
    assert row[audit.CSV_COLUMNS.index("requete")] == '\'=HYPERLINK("https://evil.example","x")'
