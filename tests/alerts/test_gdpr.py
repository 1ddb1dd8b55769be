"""Alerts' part in GDPR rights: the incidents that reached a resident and their answers are exported; an
erasure clears the answers and notes, keeps the person among a real incident's recipients (the proof they
were alerted) and takes them out of exercises; the purge clears the answers of incidents closed long ago."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from proactif.alerts import _gdpr as gdpr
from proactif.alerts.models import Incident, IncidentMessage, IncidentRecipient
from proactif.kernel import clock
from proactif.registry.models import Person

pytestmark = pytest.mark.django_db
BLANK = {"answer": "", "answer_channel": "", "answered_at": None, "note": "", "handled_by": "", "handled_at": None}


def two_residents() -> tuple[int, int]:
    first, second = Person.objects.filter(status="active").order_by("id").values_list("id", flat=True)[:2]
    return first, second


def incident(title: str, *, status: str = "active", exercise: bool = False, closed_at: datetime | None = None,
             created_at: datetime | None = None) -> Incident:
    at = created_at or clock.now() - timedelta(hours=2)
    made = Incident.objects.create(type_code="inondation", title=title, status=status, exercise=exercise,
                                   area_label="quartier du Port", created_by="police-1", created_at=at,
                                   updated_at=at, closed_at=closed_at)
    IncidentMessage.objects.create(incident=made, seq=1, kind="alerte", texts={"fr": title}, sent_by="police-1",
                                   sent_at=at + timedelta(minutes=5))
    return made


def answered(inc: Incident, person_id: int, answer: str = "besoin_aide", note: str = "") -> IncidentRecipient:
    return IncidentRecipient.objects.create(incident=inc, person_id=person_id, answer=answer, answer_channel="sms",
                                            answered_at=inc.created_at + timedelta(minutes=20), note=note)


def answer_fields(row: IncidentRecipient) -> dict[str, object]:
    row.refresh_from_db()
    return {field: getattr(row, field) for field in BLANK}


def test_the_export_lists_the_incidents_that_reached_the_person_with_their_answers(fixed_clock) -> None:
    person, other = two_residents()
    flood = incident("Crue de la Saône", status="close", closed_at=clock.now() - timedelta(hours=1))
    helped = answered(flood, person, note="personne âgée, escalier difficile")
    IncidentRecipient.objects.filter(pk=helped.pk).update(handled_by="police-2", handled_at=clock.now())
    later = incident("Coupure d'eau rue Haute")
    IncidentRecipient.objects.create(incident=later, person_id=person)
    answered(later, other, note="ne me concerne pas")

    rows = gdpr.export(person)["alertes_recues"]
    assert [r["titre"] for r in rows] == ["Crue de la Saône", "Coupure d'eau rue Haute"]
    first, second = rows
    assert first["type"] == "Risque d'inondation" and first["statut"] == "Close" and not first["exercice"]
    assert first["reponse"] == "besoin d'aide" and first["canal_de_reponse"] == "sms"
    assert first["note"] == "personne âgée, escalier difficile" and first["traite_par"] == "police-2"
    assert first["premier_message_recu_le"] == (flood.created_at + timedelta(minutes=5)).isoformat()
    assert first["close_le"] and first["traite_le"] and first["repondu_le"]
    assert second["reponse"] is None and second["note"] is None and second["close_le"] is None
    assert "ne me concerne pas" not in str(rows)  # nothing of the other resident


def test_the_erasure_clears_answers_keeps_real_incidents_and_leaves_exercises(fixed_clock) -> None:
    person, other = two_residents()
    flood, water = incident("Crue"), incident("Coupure d'eau")
    drill = incident("Exercice crue", exercise=True)
    mine = [answered(flood, person, note="j'ai besoin d'un médecin"), IncidentRecipient.objects.create(
        incident=water, person_id=person), answered(drill, person, "en_securite")]
    theirs = answered(flood, other, note="tout va bien")

    plan = {item.category: item for item in gdpr.plan_erasure(person)}
    assert (plan["réponses aux alertes"].action, plan["réponses aux alertes"].count) == ("erase", 2)
    assert (plan["alertes reçues"].action, plan["alertes reçues"].count) == ("retain", 2)
    assert "17-3" in plan["alertes reçues"].reason
    assert (plan["exercices d'alerte"].action, plan["exercices d'alerte"].count) == ("erase", 1)

    assert gdpr.erase(person) == {"exercise_recipients": 1, "answers": 1}
    kept = IncidentRecipient.objects.filter(person_id=person)
    assert sorted(kept.values_list("incident_id", flat=True)) == [flood.pk, water.pk]
    assert all(answer_fields(row) == BLANK for row in kept)
    assert answer_fields(theirs)["note"] == "tout va bien" and theirs.answer == "besoin_aide"
    assert not IncidentRecipient.objects.filter(pk=mine[2].pk).exists()

    again = {item.category: item.count for item in gdpr.plan_erasure(person)}
    assert again == {"réponses aux alertes": 0, "alertes reçues": 2}  # nothing left to erase, no exercise


def test_the_purge_clears_the_answers_of_incidents_closed_long_ago_only(fixed_clock, settings) -> None:
    settings.MESSAGE_RETENTION_DAYS = 365
    person, other = two_residents()
    long_ago = clock.now() - timedelta(days=400)
    old = incident("Tempête", status="close", created_at=long_ago, closed_at=long_ago + timedelta(days=1))
    recent = incident("Canicule", status="close", created_at=clock.now() - timedelta(days=30),
                      closed_at=clock.now() - timedelta(days=29))
    ongoing = incident("Crue lente", status="resolue", created_at=long_ago)  # resolved, never closed
    old_drill = incident("Exercice tempête", status="close", exercise=True, created_at=long_ago,
                         closed_at=long_ago + timedelta(days=1))
    cleared = [answered(old, person, note="toit arraché"), answered(old, other, "en_securite")]
    silent = IncidentRecipient.objects.create(incident=old, person_id=Person.objects.order_by("-id").first().pk)
    kept = [answered(recent, person, note="fenêtres fermées"), answered(ongoing, person)]
    answered(old_drill, person)

    assert gdpr.purge() == {"exercise_recipients": 1, "answers": 2}
    assert all(answer_fields(row) == BLANK for row in cleared)
    assert IncidentRecipient.objects.filter(incident=old).count() == 3 and answer_fields(silent) == BLANK
    assert answer_fields(kept[0])["note"] == "fenêtres fermées" and answer_fields(kept[1])["answer"] == "besoin_aide"
    assert not IncidentRecipient.objects.filter(incident=old_drill).exists()
    assert gdpr.purge() == {"exercise_recipients": 0, "answers": 0}


def test_the_declaration_is_named_and_wipe_forgets_every_recipient(fixed_clock) -> None:
    person, other = two_residents()
    flood = incident("Crue")
    answered(flood, person), answered(flood, other)
    assert declared().name == "alertes" and declared().purge is gdpr.purge
    assert declared().wipe() == 2 and not IncidentRecipient.objects.exists()
    assert Incident.objects.filter(pk=flood.pk).exists()  # the incident itself is no personal data


def declared():  # what the capability declares for the GDPR rights
    from proactif.alerts.capability import CAPABILITY

    return CAPABILITY.personal_data
