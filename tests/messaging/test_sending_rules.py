"""Sending rules a capability declares for a communication purpose (`kernel.capabilities.Sending`): its own
window instead of PROACTIF_QUIET_HOURS, every day or not, capped or not — at send time (`decide`) and in the
previews (`plan`, `plan_profiles`). An uncapped message is neither held back by the frequency caps nor counted
in them; the urgent lane stays exempt from everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import DeclarationError, Sending
from proactif.messaging import _outbox as outbox
from proactif.messaging import _plan as plans
from proactif.messaging import domain, services
from proactif.messaging.models import OutboxMessage, SinkMessage
from tests.messaging.declaring import declare
from tests.sinks import reachable_person

pytestmark = pytest.mark.django_db

PURPOSE = "droits"  # any communication purpose: the rule is what the test declares for it
TUESDAY_MORNING = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 10:30 in Paris
TUESDAY_EVENING = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)  # 20:30 in Paris
SUNDAY_MORNING = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
CHECK_INS = Sending(PURPOSE, lambda: "09:00-19:00", every_day=True, capped=False)


@pytest.fixture
def now():
    moving = clock.FixedClock(TUESDAY_MORNING)
    with clock.use(moving):
        yield moving


@pytest.fixture
def check_ins(monkeypatch):
    return declare(monkeypatch, sending=(CHECK_INS,))


@pytest.fixture(autouse=True)
def template(db):
    services.save_template("test-veille", "email", "Bonjour {{ personne.prenom }}, tout va bien ?", subject="Veille",
                           publish=True)


def spec(person_id: int, key: str, purpose: str = PURPOSE, lane: str = "transactional") -> outbox.MessageSpec:
    return outbox.MessageSpec(key, person_id, "test-veille", purpose, "ccas", lane=lane, policy=["email"],
                              trigger="test")


def send(*specs: outbox.MessageSpec) -> list[OutboxMessage]:
    keys = outbox.persist(specs)
    outbox.send_batch(list(keys.values()))
    return [OutboxMessage.objects.get(idempotency_key=s.key) for s in specs]


def already_sent(person_id: int, purpose: str, count: int, at: datetime) -> None:
    """`count` messages of `purpose` sent to the person an hour before `at`."""
    for n in range(count):
        OutboxMessage.objects.create(
            idempotency_key=f"deja-{purpose}-{person_id}-{n}", person_id=person_id, service="communication",
            purpose=purpose, policy=["email"], channel="email", status="sent", not_before=at, lane="bulk",
            created_at=at - timedelta(hours=1), updated_at=at, sent_at=at - timedelta(hours=1))


# --- the declaration and its look-up ----------------------------------------------------------------------------
def test_a_purpose_has_at_most_one_sending_rule(monkeypatch) -> None:
    assert capabilities.sending(PURPOSE) is None  # nobody declares one for it: the settings' rules
    declare(monkeypatch, sending=(CHECK_INS,))
    assert capabilities.sending(PURPOSE) is CHECK_INS and capabilities.sending("rappels_echeances") is None
    with pytest.raises(DeclarationError, match="sending rule of the purpose « droits » declared twice"):
        declare(monkeypatch, sending=(CHECK_INS, Sending(PURPOSE, lambda: "08:00-20:00")))


def test_the_rule_gives_the_purpose_its_window_days_and_caps(check_ins, settings) -> None:
    quiet = plans.quiet_hours(PURPOSE)
    assert (quiet.start.isoformat(), quiet.end.isoformat(), quiet.sundays, quiet.holidays) == (
        "09:00:00", "19:00:00", True, True)
    assert plans.caps(PURPOSE) is None and plans.caps("rappels_echeances") == domain.Caps(settings.CAP_PER_DAY,
                                                                                    settings.CAP_PER_WEEK)
    other = plans.quiet_hours("rappels_echeances")
    assert (other.start.isoformat(), other.sundays) == ("08:00:00", False)
    assert PURPOSE in plans.uncapped_purposes() and "rappels_echeances" not in plans.uncapped_purposes()
    assert services.sending_days(PURPOSE)(SUNDAY_MORNING.date()) and not services.sending_day(SUNDAY_MORNING.date())


def test_an_uncapped_step_is_neither_held_back_nor_counted() -> None:
    recipient = domain.Recipient((), {"email": "a@example.fr"})
    sent = [TUESDAY_MORNING - timedelta(hours=h) for h in (1, 2)]
    quiet = domain.QuietHours()
    step = plans.next_step(["email"], [], "bulk", recipient, lambda c: True, TUESDAY_MORNING, quiet, None, sent)
    assert step.action == "send" and len(sent) == 2
    capped = plans.next_step(["email"], [], "bulk", recipient, lambda c: True, TUESDAY_MORNING, quiet,
                             domain.Caps(2, 5), sent)
    assert (capped.action, capped.reason) == ("defer", "cap")


# --- through the send, with the built-in sinks --------------------------------------------------------------------
def test_an_uncapped_message_goes_although_the_caps_are_reached_by_another_campaign(sinks, agents, now, check_ins,
                                                                                     settings) -> None:
    person = reachable_person(agents, ("email",), purpose=PURPOSE)
    already_sent(person.person_id, "information", settings.CAP_PER_DAY, TUESDAY_MORNING)
    capped, check_in = send(spec(person.person_id, "t-capped", purpose="rappels_echeances"),
                            spec(person.person_id, "t-check-in"))
    assert (capped.status, capped.error) == ("created", "") and capped.not_before > TUESDAY_MORNING  # the caps
    assert check_in.status == "sent"
    sinks.pump()
    assert SinkMessage.objects.get(idempotency_key="t-check-in").recipient == person.addresses["email"]
    assert plans.plan([person.person_id], PURPOSE, ["email"], "transactional", "test-veille")[
        person.person_id].action == "send"  # the preview says so too


def test_at_half_past_eight_in_the_evening_it_waits_for_nine_the_next_morning(sinks, agents, now, check_ins) -> None:
    person = reachable_person(agents, ("email",), purpose=PURPOSE)
    now.set(TUESDAY_EVENING)  # within PROACTIF_QUIET_HOURS (08:00-20:00 … 20:30 is not), outside 09:00-19:00
    nine = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    assert plans.plan([person.person_id], PURPOSE, ["email"], "transactional", "test-veille")[
        person.person_id] == plans.Step("defer", "email", "quiet_hours", nine)
    [row] = send(spec(person.person_id, "t-evening"))
    assert (row.status, row.not_before) == ("created", nine)
    [urgent] = send(spec(person.person_id, "t-evening-urgent", lane="urgent"))
    assert urgent.status == "sent"  # the urgent lane: exempt, as ever


def test_on_a_sunday_an_every_day_purpose_is_not_held_back(sinks, agents, now, check_ins) -> None:
    person = reachable_person(agents, ("email",), purpose=PURPOSE)
    now.set(SUNDAY_MORNING)
    check_in, newsletter = send(spec(person.person_id, "t-sunday"),
                                spec(person.person_id, "t-sunday-other", purpose="rappels_echeances"))
    assert check_in.status == "sent"
    assert newsletter.status == "created" and newsletter.not_before == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


def test_the_check_ins_do_not_hold_back_a_bulk_campaign(sinks, agents, now, check_ins, settings) -> None:
    person = reachable_person(agents, ("email",), purpose=PURPOSE)
    already_sent(person.person_id, PURPOSE, settings.CAP_PER_DAY + 1, TUESDAY_MORNING)
    [campaign] = send(spec(person.person_id, "t-campaign", purpose="rappels_echeances", lane="bulk"))
    assert campaign.status == "sent"


def test_the_profiles_preview_reads_the_purpose_rules(check_ins, now) -> None:
    from proactif.registry.services import ReachProfile

    profile = ReachProfile(("email",), frozenset({"email"}), frozenset({"email"}), "fr")
    now.set(TUESDAY_EVENING)
    [step] = services.plan_profiles([(profile, False)], ["email"], "test-veille", purpose=PURPOSE)
    assert step.action == "send"  # the urgent lane: no hours to wait for
