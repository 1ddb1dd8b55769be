"""The heatwave plan: a vigilance level starts, raises or lifts the plan (only for the collectivité's
départements); orange starts the day's round — every registered person, prioritised; the SMS check-in with its
reply codes; the call list and its outcomes; the no-answer path run by the journey engine (retry, the person to
warn, a home visit, the emergency services); the board of coverage per quartier; the send-time rules of the
check-ins (the watch's hours every day, no frequency cap)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count

from proactif.accounts.domain import system_actor
from proactif.journeys import _engine as engine
from proactif.journeys.models import AgentTask, JourneyInstance
from proactif.kernel import capabilities, clock
from proactif.messaging.models import OutboxMessage
from proactif.watch import _campaign as campaign
from proactif.watch import domain, services
from proactif.watch.models import CheckIn, Contact, Plan, Registration, VigilanceReading

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
MORNING = datetime(2026, 7, 14, 7, 0, tzinfo=UTC)  # 09:00 in Paris, a public holiday


@pytest.fixture
def moving():
    fixed = clock.FixedClock(MORNING)
    with clock.use(fixed):
        yield fixed


def ours() -> str:
    return services.departements()[0]


def test_the_demo_commune_is_in_paris_so_its_departement_is_75() -> None:
    assert services.departements() == ["75"]


def test_a_level_for_another_departement_is_recorded_and_starts_nothing(moving) -> None:
    result = services.record_level(ACTOR, "13", "canicule", "rouge")
    assert result["plan"] is None and result["started"] is False and result["to_contact_today"] == 0
    assert "hors de la collectivité" in result["effect"]
    reading = VigilanceReading.objects.latest("id")
    assert (reading.departement, reading.level, reading.ours) == ("13", 4, False)
    assert not Plan.objects.exists()


def test_yellow_prepares_without_contacting_anyone(moving) -> None:
    result = services.record_level(ACTOR, ours(), "canicule", "jaune")
    assert result["plan"]["status"] == "preparation" and not result["started"]
    assert not CheckIn.objects.exists()


def test_orange_starts_the_campaign_with_every_registered_person_prioritised(moving) -> None:
    registered = services.registered_count()
    assert registered > 0, "the seeded commune has a register"
    result = services.record_level(ACTOR, ours(), "canicule", "orange")
    assert set(result) >= {"departement", "level", "plan", "registered", "to_contact_today", "call_list", "started"}
    assert result["started"] is True and result["plan"]["status"] == "alerte"
    assert result["registered"] == registered == result["to_contact_today"]
    checkins = list(CheckIn.objects.filter(plan_id=result["plan"]["id"]))
    assert len(checkins) == registered and result["call_list"] == sum(c.call_first for c in checkins)
    # the SMS path starts for those with a mobile; the others are called first
    for c in checkins:
        assert (c.instance_id is None) == ("sans_sms" in c.reasons)
    # idempotent: the same level again adds nobody
    again = services.record_level(ACTOR, ours(), "canicule", "orange")
    assert again["started"] is False and CheckIn.objects.count() == registered


def test_red_raises_and_green_lifts_the_plan_stopping_the_days_paths(moving) -> None:
    services.record_level(ACTOR, ours(), "canicule", "orange")
    raised = services.record_level(ACTOR, ours(), "canicule", "rouge")
    assert raised["plan"]["status"] == "mobilisation" and "relevé" in raised["effect"]
    lifted = services.record_level(ACTOR, ours(), "canicule", "vert")
    assert lifted["plan"]["ended"] is not None
    assert not JourneyInstance.objects.filter(journey_key="veille-quotidienne", status__in=JourneyInstance.LIVE)


def test_bad_levels_and_departements_are_one_line_refusals() -> None:
    with pytest.raises(services.PlanError, match="niveau de vigilance inconnu"):
        services.record_level(ACTOR, "75", "canicule", "violet")
    with pytest.raises(services.PlanError, match="département inconnu"):
        services.record_level(ACTOR, "20", "canicule", "orange")
    with pytest.raises(services.PlanError, match="phénomène inconnu"):
        services.record_level(ACTOR, "75", "orages", "orange")


def test_priority_puts_help_needed_and_unreachable_last_time_first() -> None:
    alone = domain.Situation(True, False, False, "", True, 80)
    helped = domain.Situation(False, False, False, "besoin_aide", True, 70)
    assert domain.priority(helped)[0] > domain.priority(alone)[0]
    assert domain.priority(domain.Situation(None, True, True, "injoignable", False, 90))[1] == [
        "injoignable", "besoins", "sans_famille", "grand_age", "sans_sms"]
    assert domain.call_first(domain.Situation(None, False, False, "", False, 70))
    assert not domain.call_first(alone)


@pytest.mark.parametrize(("text", "answer"), [("1", "ok"), (" 1 ", "ok"), ("OK", "ok"), ("Tout va bien", "ok"),
                                          ("2", "besoin_aide"), ("aide", "besoin_aide"), ("1 2", "besoin_aide"),
                                          ("2 svp", "besoin_aide"), ("Besoin d'aide", "besoin_aide"),
                                          ("bonjour", None), ("", None), ("12", None)])
def test_reply_codes(text: str, answer: str | None) -> None:
    assert domain.reply_answer(text) == answer


def started(moving) -> Plan:
    result = services.record_level(ACTOR, ours(), "canicule", "orange")
    return Plan.objects.get(pk=result["plan"]["id"])


def with_path(plan: Plan) -> CheckIn:
    checkin = CheckIn.objects.filter(plan=plan, instance_id__isnull=False).order_by("id").first()
    assert checkin is not None
    return checkin


def test_a_2_reply_puts_the_person_first_on_the_board_and_ends_their_path(moving) -> None:
    plan = started(moving)
    engine.run_until_idle(clock.now())
    checkin = with_path(plan)
    services.on_reply("reply_received", person_id=checkin.person_id, instance_id=checkin.instance_id, text="2")
    checkin.refresh_from_db()
    assert checkin.answer == "besoin_aide" and checkin.answer_channel == "sms"
    rows = campaign.day_checkins(plan, clock.today())
    assert rows[0].pk == checkin.pk
    engine.run_until_idle(clock.now())
    assert JourneyInstance.objects.get(pk=checkin.instance_id).node == "fin_aide"
    figures = campaign.board(plan, clock.today())["total"]
    assert figures["besoin_aide"] == 1 and figures["total"] == CheckIn.objects.filter(plan=plan).count()
    # a later « 1 » by SMS does not hide the need for help
    services.on_reply("reply_received", person_id=checkin.person_id, instance_id=checkin.instance_id, text="1")
    checkin.refresh_from_db()
    assert checkin.answer == "besoin_aide"


def test_call_outcomes_settle_the_day_or_start_the_no_answer_path(moving) -> None:
    plan = started(moving)
    no_mobile = CheckIn.objects.filter(plan=plan, instance_id__isnull=True).first()
    if no_mobile is None:
        pytest.skip("every registered person of the seeded commune has a mobile")
    for _ in range(2):
        services.record_call(ACTOR, no_mobile.pk, "pas_de_reponse")
    no_mobile.refresh_from_db()
    assert no_mobile.attempts == 2 and no_mobile.instance_id is None
    services.record_call(ACTOR, no_mobile.pk, "messagerie", "message laissé à 10 h")
    no_mobile.refresh_from_db()
    assert no_mobile.instance_id is not None  # three failed calls: the person to warn, the visit…
    services.record_call(ACTOR, no_mobile.pk, "visite_ok")
    no_mobile.refresh_from_db()
    assert (no_mobile.answer, no_mobile.answer_channel) == ("ok", "visite")
    with pytest.raises(services.PlanError, match="issue d'appel inconnue"):
        services.record_call(ACTOR, no_mobile.pk, "peut-etre")


def test_the_no_answer_path_retries_warns_the_contact_then_a_visit_then_the_emergency_services(moving) -> None:
    plan = started(moving)
    checkin = CheckIn.objects.filter(plan=plan, instance_id__isnull=False,
                                     registration__contacts__role="urgence").order_by("id").first()
    assert checkin is not None
    engine.run_until_idle(clock.now())
    instance = JourneyInstance.objects.get(pk=checkin.instance_id)
    assert instance.node == "attente_bilan"
    first = OutboxMessage.objects.get(instance_id=instance.pk, step="bilan")
    assert (first.template_key, first.purpose, first.policy) == ("veille.bilan", "veille_sante", ["sms"])
    steps = []
    for hours in (2, 2, 2, 4):
        moving.set(clock.now() + timedelta(hours=hours, minutes=1))
        engine.run_until_idle(clock.now())
        instance.refresh_from_db()
        steps.append(instance.node)
    assert steps == ["attente_relance", "attente_proche", "attente_visite", "fin_secours"]
    warned = OutboxMessage.objects.filter(instance_id=instance.pk, step="injoignable")
    contact = Contact.objects.filter(registration_id=checkin.registration_id, role="urgence").first()
    assert warned.count() == 1 and warned[0].person_id is None and warned[0].recipient == contact.telephone
    titles = list(AgentTask.objects.filter(instance_id=instance.pk).values_list("title", flat=True))
    assert any("Visite à domicile" in t for t in titles) and any("secours" in t for t in titles)
    board = {c.pk: c.state for c in campaign.day_checkins(plan, clock.today())}
    assert board[checkin.pk] == "injoignable"


def test_the_next_days_round_puts_yesterdays_unreachable_first(moving) -> None:
    plan = started(moving)
    checkin = with_path(plan)
    campaign.stop_person(checkin.person_id, "test")
    JourneyInstance.objects.filter(pk=checkin.instance_id).update(node="fin_secours")
    moving.set(MORNING + timedelta(days=1))
    services.run_due_rounds()
    today = CheckIn.objects.get(plan=plan, registration_id=checkin.registration_id, day=clock.today())
    assert "injoignable" in today.reasons and today.call_first


def test_check_ins_leave_in_the_watch_hours_every_day_and_no_cap_holds_them_back(settings) -> None:
    rule = capabilities.sending("veille_sante")
    assert rule is not None and rule.every_day and not rule.capped and rule.hours() == settings.WATCH_HOURS == \
        "09:00-19:00"


def test_the_registers_basis_is_checked_at_send_time() -> None:
    basis = capabilities.contact_basis("veille_sante")
    registration = Registration.objects.filter(status="inscrite").first()
    assert basis is not None and registration is not None
    assert basis.holders([registration.person_id]) == {registration.person_id}
    services.remove(ACTOR, registration.pk, "demande")
    assert basis.holders([registration.person_id]) == set()


def test_in_a_demo_synthetic_residents_answer_the_check_in_most_fine_a_few_in_need(moving, sinks) -> None:
    """The demo lives: a quarter of an hour after the SMS, most synthetic residents answer « 1 », a few « 2 »
    (synth.behaviour), and their paths end there; the others go on to the retry."""
    from proactif.messaging import _outbox as outbox
    from proactif.synth import _behaviour as behaviour

    plan = started(moving)
    engine.run_until_idle(clock.now())
    outbox.drain()
    sent = OutboxMessage.objects.filter(template_key="veille.bilan", status__in=("sent", "delivered")).count()
    assert sent > 0
    assert behaviour.answer_checkins() == {"fine": 0, "help": 0}  # too early: they read it later
    assert behaviour.checkin_answers_due() is not None
    moving.set(clock.now() + timedelta(minutes=16))
    figures = behaviour.answer_checkins()
    assert figures["fine"] > figures["help"] and figures["fine"] + figures["help"] <= sent
    assert behaviour.answer_checkins() == {"fine": 0, "help": 0}  # once each
    engine.run_until_idle(clock.now())
    answers = dict(CheckIn.objects.filter(plan=plan).exclude(answer="").values_list("answer").annotate(
        n=Count("id")))
    assert answers.get("ok", 0) == figures["fine"] and answers.get("besoin_aide", 0) == figures["help"]
    ended = JourneyInstance.objects.filter(journey_key="veille-quotidienne", node__in=("fin_ok", "fin_aide"))
    assert ended.count() == figures["fine"] + figures["help"]


def test_a_reply_to_another_journeys_message_is_not_taken_for_the_check_in(moving) -> None:
    plan = started(moving)
    checkin = with_path(plan)
    services.on_reply("reply_received", person_id=checkin.person_id, instance_id=checkin.instance_id + 10**9,
                      text="1")
    checkin.refresh_from_db()
    assert checkin.answer == ""  # a « 1 » to a reminder of a passport is not « tout va bien »
    services.on_reply("reply_received", person_id=checkin.person_id, instance_id=None, text="1")
    checkin.refresh_from_db()
    assert checkin.answer == "ok"  # no message matched the number: today's check-in


def test_yellow_prepares_the_list_in_the_order_orange_would_contact(moving, agents) -> None:
    from django.test import Client

    result = services.record_level(ACTOR, ours(), "canicule", "jaune")
    rows = services.prepared(Plan.objects.get(pk=result["plan"]["id"]), clock.today())
    assert len(rows) == services.registered_count() and result["call_list"] == sum(c.call_first for c in rows)
    assert [c.priority for c in rows] == sorted((c.priority for c in rows), reverse=True)
    assert not CheckIn.objects.exists()  # nobody contacted
    client = Client()
    client.force_login(agents["sante"])
    page = client.get(f"/veille/plans/{result['plan']['id']}/")
    assert page.status_code == 200 and "personne n’est encore contacté" in page.content.decode().lower()
    exported = client.get(f"/veille/plans/{result['plan']['id']}/?export=csv")
    assert exported.status_code == 200 and len(exported.content.decode("utf-8-sig").splitlines()) == len(rows) + 1


def test_a_plan_raised_late_in_the_day_lists_everyone_to_call_and_starts_no_overnight_path(moving) -> None:
    """At 16:00 the SMS, its retry and the person to warn no longer fit before 19:00: no path would wait through
    the night (a visit task at midnight); everyone goes to the call list and tomorrow's round starts the paths."""
    moving.set(MORNING + timedelta(hours=7))  # 16:00 in Paris
    result = services.record_level(ACTOR, ours(), "canicule", "orange")
    assert result["started"] and result["call_list"] == result["to_contact_today"] == services.registered_count()
    assert not CheckIn.objects.filter(instance_id__isnull=False).exists()
    assert all("tardif" in c.reasons for c in CheckIn.objects.all())
    moving.set(MORNING + timedelta(days=1, minutes=-30))  # 08:30 the next day
    services.run_due_rounds()
    assert CheckIn.objects.filter(day=clock.today(), instance_id__isnull=False).exists()
