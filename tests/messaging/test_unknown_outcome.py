"""When the outcome of a provider call is unknown — the worker died mid-call, a read timeout after the request
left — the message is retried only with the same provider and the same key; another SMS provider takes it
only after a definite refusal (no connection, an answer refusing it); an e-mail whose outcome is unknown is
sent once more with the same Message-ID, counted as a possible duplicate, and never a third time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from proactif.kernel import clock
from proactif.messaging import _metrics as metrics
from proactif.messaging import _outbox as outbox
from proactif.messaging import _providers as providers
from proactif.messaging import _sending as sending
from proactif.messaging._channels.base import Outgoing
from proactif.messaging._channels.http import HttpClient
from proactif.messaging.models import OutboxMessage
from tests.messaging import test_outbox
from tests.messaging.test_outbox import at_sink, send, spec
from tests.sinks import fault, free_port, reachable_person
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    moving = clock.FixedClock(test_outbox.TUESDAY_MORNING)
    with clock.use(moving):
        yield moving


@pytest.fixture(autouse=True)
def templates(db):
    test_outbox.body_templates.__wrapped__(db)  # type: ignore[attr-defined]


class Died(BaseException):
    """The worker process dying in the middle of a provider call."""


def possible_duplicates(channel: str) -> float:
    return metrics.POSSIBLE_DUPLICATES.labels(channel=channel)._value.get()  # type: ignore[attr-defined]


def test_an_sms_whose_answer_never_came_goes_again_to_the_same_provider_with_the_same_key(sinks, agents,
                                                                                          now) -> None:
    person = reachable_person(agents, ("sms",))
    key = "t-unknown-timeout"
    primary = providers.sms_router().order(key)[0].name
    fault(sinks, primary, delay=1.5, count=1)  # the provider keeps it and answers after the client gave up
    [row] = send(spec(person.person_id, key, ["sms"]))
    assert (row.status, row.failure, row.provider, row.attempts) == ("created", "unknown", primary, 1)
    now.advance(timedelta(seconds=31))
    outbox.send_batch([row.pk])
    row.refresh_from_db()
    assert (row.status, row.provider, row.attempts) == ("sent", primary, 2)
    # one provider, the same key twice: the gateway delivers it once; the other provider never saw it
    assert wait_for(lambda: [(r.provider, r.submissions) for r in at_sink(sinks, key)] == [(primary, 2)], 5)


def test_a_worker_dying_mid_call_leaves_the_provider_on_the_row_and_the_retry_goes_there(sinks, agents, now,
                                                                                        monkeypatch) -> None:
    person = reachable_person(agents, ("sms",))
    key = "t-unknown-died"
    primary, other = [client.name for client in providers.sms_router().order(key)]
    fault(sinks, primary, status=500, count=1)  # a definite refusal: the second attempt goes to the other
    [row] = send(spec(person.person_id, key, ["sms"]))
    assert (row.status, row.failure, row.provider) == ("created", "temporary", primary)

    now.advance(timedelta(seconds=31))
    with monkeypatch.context() as patch:
        patch.setattr(sending, "_call_provider", lambda decision: (_ for _ in ()).throw(Died()))
        with pytest.raises(Died):
            outbox.send_batch([row.pk])
    row.refresh_from_db()
    # written before the call, in the statement of the batch: where it went, and that nobody knows the outcome
    assert (row.status, row.failure, row.provider, row.attempts) == ("sending", "unknown", other, 2)

    now.advance(timedelta(seconds=400))  # the lease ends; the sweeper gives the message back
    assert outbox.sweep()["stuck_returned"] == 1
    row.refresh_from_db()
    outbox.send_batch([row.pk])
    row.refresh_from_db()
    # by attempt number the third would have gone back to the first provider: a duplicate if the dead
    # worker's call had reached the other one
    assert (row.status, row.provider, row.attempts, row.unknown_retries) == ("sent", other, 3, 1)
    assert [(r.provider, r.submissions) for r in at_sink(sinks, key)] == [(other, 1)]


def test_an_sms_provider_refusing_the_connection_is_a_definite_refusal_and_the_other_one_takes_it(
        sinks, agents, now, settings) -> None:
    person = reachable_person(agents, ("sms",))
    closed = free_port()
    configured = json.loads(settings.SMS_PROVIDERS)
    configured[0]["url"] = f"http://127.0.0.1:{closed}/sms/json"  # sms-a: nothing listens
    settings.SMS_PROVIDERS = json.dumps(configured)
    providers.reset()
    key = next(f"t-refused-{n}" for n in range(100) if providers.sms_router().order(f"t-refused-{n}")[0].name
               == "sms-a")
    [row] = send(spec(person.person_id, key, ["sms"]))
    assert (row.status, row.failure, row.provider) == ("created", "technical", "sms-a")
    now.advance(timedelta(seconds=31))
    outbox.send_batch([row.pk])
    row.refresh_from_db()
    assert (row.status, row.provider) == ("sent", "sms-b")
    assert [(r.provider, r.submissions) for r in at_sink(sinks, key)] == [("sms-b", 1)]


def test_an_email_whose_answer_never_came_is_sent_once_more_with_its_message_id_and_counted(sinks, agents,
                                                                                           now) -> None:
    person = reachable_person(agents, ("email",))
    providers.smtp().timeout = 0.5
    sinks.smtp.delay_answers(1.5, count=1)  # the relay keeps the message; its answer comes too late
    before = possible_duplicates("email")
    [row] = send(spec(person.person_id, "t-unknown-mail", ["email"]))
    assert (row.status, row.failure) == ("created", "unknown")
    now.advance(timedelta(seconds=31))
    outbox.send_batch([row.pk])
    row.refresh_from_db()
    assert (row.status, row.unknown_retries) == ("sent", 1)
    assert possible_duplicates("email") == before + 1
    [received] = at_sink(sinks, "t-unknown-mail")  # the same Message-ID and key: a possible duplicate, counted
    assert received.submissions == 2


def test_an_email_unknown_twice_is_not_sent_a_third_time_nor_on_another_channel(sinks, agents, now) -> None:
    person = reachable_person(agents, ("email", "sms"))
    providers.smtp().timeout = 0.5
    sinks.smtp.delay_answers(1.5, count=2)
    [row] = send(spec(person.person_id, "t-unknown-mail-2", ["email", "sms"]))
    now.advance(timedelta(seconds=31))
    outbox.send_batch([row.pk])
    row.refresh_from_db()
    assert (row.status, row.failure, row.unknown_retries) == ("failed", "unknown", 1)
    now.advance(timedelta(minutes=5))
    assert outbox.send_batch([row.pk]) == {}
    assert not OutboxMessage.objects.filter(fallback_of=row).exists()  # no SMS: the e-mail may have arrived
    assert at_sink(sinks, "t-unknown-mail-2")[0].submissions == 2


def test_the_http_client_tells_a_refused_connection_from_a_lost_answer(sinks) -> None:
    from proactif.messaging._channels.base import UnknownOutcome

    client = HttpClient(timeout=0.3, connect_timeout=0.3)
    with pytest.raises(ConnectionError) as refused:
        client.post(f"http://127.0.0.1:{free_port()}/sms/json", b"{}", {})
    assert not isinstance(refused.value, UnknownOutcome)
    fault(sinks, "sms-a", delay=1.0, count=1)
    with pytest.raises(UnknownOutcome):
        client.post(f"{sinks.http_url}/sms/json", json.dumps({"to": "+33600000000", "text": "x"}).encode(),
                    {"Authorization": "Bearer tok-a", "Content-Type": "application/json"})
    client.close()


def test_an_answer_that_cannot_be_read_after_a_2xx_is_a_send(sinks) -> None:
    from proactif.messaging._channels.sms import HttpSmsClient, SmsProvider

    class Garbled:
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> object:
            from proactif.messaging._channels.http import Response

            return Response(201, b"<html>accepted</html>")

    client = HttpSmsClient(SmsProvider("x", "json", "http://x", 1, "t", "s", sink=True), "Mairie", Garbled())  # type: ignore[arg-type]
    result = client.send(Outgoing("k", "sms", "+33600000000", "", "texte"))
    assert result.ok and result.provider == "x"
