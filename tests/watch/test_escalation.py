"""A critical device alert pages people until someone acknowledges it: the referent, then the agent on call (or the
desk's shared number when no one is), then the person to warn, then a task « appeler le 15 » — on the urgent lane;
acknowledging it on the desk stops the escalation; warnings page no one. The rota is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proactif.accounts.domain import system_actor
from proactif.audit.models import AccessLog
from proactif.journeys import _engine as engine
from proactif.journeys.models import AgentTask, JourneyInstance
from proactif.kernel import clock
from proactif.messaging.models import OutboxMessage
from proactif.watch import _alerts as alerts
from proactif.watch import _escalation as escalation
from proactif.watch import services
from proactif.watch.models import Alert
from tests.watch.test_alerts import oximeter, spo2
from tests.watch.test_register import unregistered

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
NIGHT = datetime(2026, 7, 14, 1, 0, tzinfo=UTC)  # 03:00 in Paris: urgent, quiet hours do not apply


@pytest.fixture
def moving():
    fixed = clock.FixedClock(NIGHT)
    with clock.use(fixed):
        yield fixed


def registered_with_contacts() -> int:
    person_id = unregistered()
    services.enrol(ACTOR, services.Request(person_id, "age_65", contacts=[
        services.ContactInput("referent", "Aide à domicile", "aide à domicile", "06 11 22 33 44"),
        services.ContactInput("urgence", "Paul DURAND", "fils", "06 55 66 77 88")]))
    return person_id


def test_a_critical_alert_pages_the_referent_then_the_desk_then_the_contact_then_asks_for_the_15(moving,
                                                                                                 settings) -> None:
    settings.WATCH_DESK_PHONE = "+33699887766"
    person_id = registered_with_contacts()
    spo2(oximeter(person_id), [84] * 4, start=NIGHT - timedelta(minutes=20))
    alert = Alert.objects.get(person_id=person_id)
    assert alert.severity == "critical" and alert.escalation_id
    instance = JourneyInstance.objects.get(pk=alert.escalation_id)
    steps = []
    for minutes in (0, 11, 16, 16):
        moving.set(clock.now() + timedelta(minutes=minutes))
        engine.run_until_idle(clock.now())
        instance.refresh_from_db()
        steps.append(instance.node)
    assert steps == ["attente_referent", "attente_astreinte", "attente_proche", "fin_secours"]
    sent = {m.step: m for m in OutboxMessage.objects.filter(instance_id=instance.pk)}
    assert (sent["referent"].recipient, sent["referent"].lane, sent["referent"].person_id) == (
        "+33611223344", "urgent", None)
    assert sent["astreinte"].recipient == "+33699887766"  # no one on call: the desk's shared number
    assert sent["proche"].recipient == "+33655667788"
    assert AgentTask.objects.filter(instance_id=instance.pk, title__contains="appeler le 15").exists()


def test_acknowledging_on_the_desk_stops_the_escalation_and_the_agent_on_call_is_paged(moving) -> None:
    person_id = registered_with_contacts()
    escalation.add_shift(ACTOR, "Camille Astreinte", "06 10 20 30 40", NIGHT - timedelta(hours=1),
                         NIGHT + timedelta(hours=8), handover="RAS")
    assert escalation.on_call().agent == "Camille Astreinte"
    assert AccessLog.objects.filter(action="change", purpose="prevention_sante", detail__astreinte__isnull=False)
    spo2(oximeter(person_id), [84] * 4, start=NIGHT - timedelta(minutes=20))
    alert = Alert.objects.get(person_id=person_id)
    engine.run_until_idle(clock.now())
    moving.set(clock.now() + timedelta(minutes=11))
    engine.run_until_idle(clock.now())
    assert OutboxMessage.objects.get(instance_id=alert.escalation_id, step="astreinte").recipient == "+33610203040"
    alerts.acknowledge(ACTOR, alert.pk, "je m'en occupe")
    engine.run_until_idle(clock.now())
    assert JourneyInstance.objects.get(pk=alert.escalation_id).node == "fin_acquittee"
    with pytest.raises(escalation.RotaError, match="fin de l'astreinte"):
        escalation.add_shift(ACTOR, "X", "0610203040", NIGHT, NIGHT)


def test_a_warning_pages_no_one(moving) -> None:
    person_id = registered_with_contacts()
    spo2(oximeter(person_id), [93] * 8, start=NIGHT - timedelta(minutes=40))
    alert = Alert.objects.get(person_id=person_id)
    assert alert.severity == "warning" and alert.escalation_id is None


def test_without_the_escalation_journey_the_reading_is_still_stored_and_the_alert_opened(moving) -> None:
    from proactif.journeys.models import JourneyDefinition

    JourneyDefinition.objects.filter(key="escalade-alerte").delete()
    person_id = registered_with_contacts()
    spo2(oximeter(person_id), [84] * 4, start=NIGHT - timedelta(minutes=20))
    alert = Alert.objects.get(person_id=person_id)
    assert alert.severity == "critical" and alert.escalation_id is None
