"""From screening to take-up, on the connectors' sandbox and the message sinks: a household detected for the
RSA is informed (with its right to refuse), asks the CCAS for an appointment through its link, the social
worker reads the audited explanation, records the claim and downloads the claim summary; API Particulier
says "not yet" at M+1 and "beneficiary" at M+3: the right is open, the journey ends as a success. A refusal
is honoured by every later screening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from proactif.audit.models import AccessLog
from proactif.connectors import services as connectors
from proactif.connectors._sandbox import serve
from proactif.connectors.models import ConnectorCall
from proactif.journeys import _engine as engine
from proactif.journeys.models import AgentTask, JourneyInstance
from proactif.kernel import clock
from proactif.messaging import _outbox as outbox
from proactif.messaging._links import token_for
from proactif.messaging.models import Link, OutboxMessage
from proactif.registry.models import BenefitReceipt, Person
from proactif.rights import _screening as screening
from proactif.rights import services as rights
from proactif.rights.models import Outreach

pytestmark = pytest.mark.django_db
PERIOD = "2026-11"
START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def sandbox(settings, monkeypatch):
    """The sandbox, answering from this test's database connection: what the test writes (the CAF granting
    the right) is what the sandbox serves, inside the test's transaction."""
    from django.db import connections

    from proactif.connectors._sandbox import SandboxHandler

    shared = connections["default"]
    shared.inc_thread_sharing()
    answer = SandboxHandler.do_GET

    def do_get(handler: SandboxHandler) -> None:
        connections["default"] = shared
        answer(handler)

    monkeypatch.setattr(SandboxHandler, "do_GET", do_get)
    server = serve(0, "sandbox", rate_limit=1000)
    settings.API_PARTICULIER_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.API_PARTICULIER_TOKEN = "sandbox"
    connectors.reset()
    yield server
    connectors.reset()
    server.shutdown()
    server.server_close()
    shared.dec_thread_sharing()


@pytest.fixture
def now():
    moving = clock.FixedClock(START)
    with clock.use(moving):
        yield moving


def tick() -> None:
    engine.run_until_idle()
    due = list(OutboxMessage.objects.filter(status="created", not_before__lte=clock.now()).values_list("id",
                                                                                                       flat=True))
    if due:
        outbox.send_batch(due)


def advance(now, days: int) -> None:
    """Day by day, as the scheduler runs: the journeys, the messages, the take-up follow-up."""
    for _ in range(days):
        now.advance(timedelta(days=1))
        tick()
        rights.follow_up()


def screened_run() -> int:
    run = rights.start_run(PERIOD, benefits=["rsa", "prime_activite", "aspa"], chunk=400, submit=False)
    rights.run_locally(run.pk, workers=1)
    return run.pk


def test_screening_to_a_right_open_at_m_plus_3(sandbox, sinks, agents, now) -> None:
    run_id = screened_run()
    figures = rights.start_outreach(run_id, benefit="rsa", limit=1, started_by="test")
    assert figures["started"] == 1
    outreach = Outreach.objects.get(run_id=run_id)
    assert outreach.status == "informe" and outreach.benefits[0]["benefit"] == "rsa"
    instance = JourneyInstance.objects.get(pk=outreach.instance_id)
    assert instance.journey_key == "droits-possibles"

    # the information, on the preferred channel or by letter, with the right to refuse and a link
    advance(now, 1)
    message = OutboxMessage.objects.get(person_id=outreach.person_id, template_key="droits.information")
    assert message.status not in ("created", "cancelled")
    task = AgentTask.objects.get(instance_id=instance.pk)
    assert task.service == "ccas"

    # the citizen opens the link and asks for an appointment
    link = Link.objects.filter(person_id=outreach.person_id, purpose="rights.reponse").latest("created_at")
    citizen = Client()
    citizen.get(f"/l/{token_for(link.pk)}")
    page = citizen.get("/demarches/droits/")
    assert page.status_code == 200 and "RSA" in page.content.decode()
    assert citizen.post("/demarches/droits/", {"action": "appointment"}).status_code == 400  # no moment chosen
    assert citizen.post("/demarches/droits/", {"action": "appointment", "moment": "matin"}).status_code == 302
    assert Outreach.objects.get(pk=outreach.pk).status == "rdv_demande"

    # the social worker reads the explanation (audited), records the claim, downloads the summary
    ccas = Client()
    ccas.force_login(agents["ccas"])
    explanation = ccas.get(f"/droits/criblages/{run_id}/foyers/{outreach.household_id}/")
    assert explanation.status_code == 200 and "Pourquoi" in explanation.content.decode()
    assert AccessLog.objects.filter(action="view", section="ressources", person_id=outreach.person_id).exists()
    assert ccas.post("/droits/accompagnements/", {"outreach": outreach.pk, "action": "claimed"}).status_code == 302
    pdf = ccas.get(f"/droits/accompagnements/{outreach.pk}/recapitulatif.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    tick()
    instance.refresh_from_db()
    assert instance.node == "attente_decision"

    # M+1: API Particulier says not yet
    advance(now, 31)
    outreach.refresh_from_db()
    assert [f["step"] for f in outreach.followups if "checks" in f] == ["M+1"]
    assert outreach.followups[-1]["checks"][0]["receiving"] is False
    assert outreach.followups[-1]["checks"][0]["source"] == "API Particulier (revenu_solidarite_active)"

    # the CAF grants the RSA; M+3: beneficiary — the right is open, the journey succeeds
    person = Person.objects.get(pk=outreach.person_id)
    BenefitReceipt.objects.create(famille_id=person.famille_id, person=None if person.famille_id else person,
                                  benefit="rsa", monthly_amount=outreach.benefits[0]["amount"],
                                  since=None, source="caf")  # the sandbox answers on its own clock
    advance(now, 62)
    outreach.refresh_from_db()
    assert outreach.status == "ouvert" and outreach.granted_at is not None
    assert [f["step"] for f in outreach.followups if "checks" in f] == ["M+1", "M+3"]
    assert outreach.followups[-1]["checks"][0]["receiving"] is True
    tick()
    instance.refresh_from_db()
    assert instance.status == "completed" and instance.node == "fin_ouvert"
    calls = ConnectorCall.objects.filter(operation="revenu_solidarite_active", purpose="rights.take_up")
    assert calls.count() >= 2
    funnel = rights.funnel(run_id)
    assert funnel["statuses"]["ouvert"] == 1 and funnel["take_up_rate"] == 1.0


def test_a_refusal_ends_the_journey_and_is_honoured_by_later_screenings(sinks, agents, now) -> None:
    run_id = screened_run()
    rights.start_outreach(run_id, benefit="prime_activite", limit=1)
    outreach = Outreach.objects.get(run_id=run_id)
    rights.refuse(outreach.pk, source="portail")
    tick()
    instance = JourneyInstance.objects.get(pk=outreach.instance_id)
    assert instance.status in ("completed", "exited")
    rows = screening.screen_chunk([outreach.household_id], PERIOD).rows
    assert rows and not any(r.detected for r in rows) and all(r.opposed for r in rows)
    rights.start_outreach(screened_run(), benefit="prime_activite")
    assert Outreach.objects.filter(household_id=outreach.household_id).count() == 1


def test_in_a_simulation_synthetic_households_answer_claim_and_get_their_rights(sinks, agents, now) -> None:
    from proactif.deadlines.models import Appointment
    from proactif.synth import _behaviour as behaviour

    run_id = screened_run()
    rights.start_outreach(run_id, limit=40)
    appointments = Appointment.objects.count()
    for _ in range(100):
        now.advance(timedelta(days=1))
        tick()
        behaviour.act()
        rights.follow_up()
    funnel = rights.funnel(run_id)
    assert funnel["total"] == 40
    assert funnel["statuses"]["ouvert"] >= 1 and funnel["statuses"]["sans_suite"] >= 1
    statuses = funnel["statuses"]
    assert statuses["informe"] == statuses["rdv_demande"] == 0  # everyone answered or was followed to M+3
    assert statuses["ouvert"] + statuses["refuse"] + statuses["sans_suite"] + statuses["demande"] == 40
    for waiting in Outreach.objects.filter(run_id=run_id, status="demande"):  # a claim waits for its decision
        assert waiting.claimed_at is not None and "M+3" in [f["step"] for f in waiting.followups]
    assert Appointment.objects.count() == appointments  # a rights link never books a passport appointment
    opened = Outreach.objects.filter(run_id=run_id, status="ouvert").first()
    steps = [f["step"] for f in opened.followups]
    assert steps.index("rendez_vous") < steps.index("decision")  # asked for help, claimed, then granted
