"""The outbox end to end against the real sinks: routing at send time, retries, failover between SMS
providers, fallback between channels, quiet hours, caps, receipts, STOP, letters and push."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from proactif.kernel import clock
from proactif.messaging import _outbox as outbox
from proactif.messaging import _receipts as receipts
from proactif.messaging import services
from proactif.messaging._sinks.http import sign
from proactif.messaging.models import InboundMessage, OutboxMessage, SinkMessage
from proactif.registry.models import OptOut
from tests.sinks import fault, reachable_person

pytestmark = pytest.mark.django_db
TUESDAY_MORNING = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 10:30 in Paris


@pytest.fixture
def now():
    moving = clock.FixedClock(TUESDAY_MORNING)
    with clock.use(moving):
        yield moving


@pytest.fixture(autouse=True)
def body_templates(db):
    services.save_template("test-info", "sms", "Bonjour {{ personne.prenom }}, test.", publish=True)
    services.save_template("test-info", "email", "Bonjour {{ personne.prenom }},\nceci est un test.",
                           subject="Test", publish=True)
    services.save_template("test-info", "letter", "Madame, Monsieur, ceci est un test.", subject="Test",
                           publish=True)
    services.save_template("test-info", "push", "Un test pour {{ personne.prenom }}", subject="Test", publish=True)
    services.save_template("test-rdv", "sms", "RDV le {{ rendez_vous.date }}", publish=True)


def spec(person_id: int, key: str, policy: list[str], lane: str = "transactional", template: str = "test-info"):
    return outbox.MessageSpec(key, person_id, template, "rappels_echeances", "etat_civil", lane=lane, policy=policy,
                              trigger="test")


def send(*specs: outbox.MessageSpec) -> list[OutboxMessage]:
    keys = outbox.persist(specs)
    outbox.send_batch(list(keys.values()))
    return [OutboxMessage.objects.get(idempotency_key=s.key) for s in specs]


def at_sink(sinks, key: str) -> list[SinkMessage]:
    sinks.pump()
    return list(SinkMessage.objects.filter(idempotency_key=key))


def test_an_email_reaches_the_smtp_sink_once_with_its_idempotency_key(sinks, agents, now) -> None:
    person = reachable_person(agents, ("email",))
    [row] = send(spec(person.person_id, "t-mail-1", ["email"]))
    assert row.status == "sent" and row.channel == "email" and row.recipient == person.addresses["email"]
    [received] = at_sink(sinks, "t-mail-1")
    assert received.subject == "Test" and f"Bonjour {person.prenom}" in received.body and received.submissions == 1
    # The same key again creates nothing and sends nothing
    assert outbox.persist([spec(person.person_id, "t-mail-1", ["email"])]) == {"t-mail-1": row.pk}
    assert outbox.send_batch([row.pk]) == {}
    assert at_sink(sinks, "t-mail-1")[0].submissions == 1


def test_an_sms_is_delivered_when_the_signed_receipt_comes_back(sinks, agents, now) -> None:
    person = reachable_person(agents, ("sms",))
    [row] = send(spec(person.person_id, "t-sms-1", ["sms"]))
    assert row.status == "sent" and row.provider in ("sms-a", "sms-b")
    [received] = at_sink(sinks, "t-sms-1")
    assert received.recipient == person.addresses["sms"] and received.body == f"Bonjour {person.prenom}, test."
    row.refresh_from_db()
    assert row.status == "delivered" and row.delivered_at is not None
    assert row.receipts.get().provider == row.provider


def test_a_receipt_with_a_wrong_signature_is_refused(sinks, client) -> None:
    import time

    body = json.dumps({"reference": "x", "status": "delivered"}).encode()
    stamp = str(int(time.time()))
    with pytest.raises(receipts.BadSignature):
        receipts.apply_signed_receipt("sms-a", body, sign("not-the-secret", body, stamp), stamp)
    answer = client.post("/api/v1/messaging/receipts/sms-a", body, content_type="application/json",
                         HTTP_X_PROACTIF_TIMESTAMP=stamp, HTTP_X_PROACTIF_SIGNATURE="00")
    assert answer.status_code == 401
    good = client.post("/api/v1/messaging/receipts/sms-a", body, content_type="application/json",
                       HTTP_X_PROACTIF_TIMESTAMP=stamp, HTTP_X_PROACTIF_SIGNATURE=sign("secret-a", body, stamp))
    assert good.status_code == 200 and good.json() == {"outcome": "unknown"}


@pytest.mark.parametrize("failure", [{"status": 500}, {"status": 429}], ids=["http-500", "http-429"])
def test_a_failing_sms_provider_is_retried_then_the_other_provider_takes_it(sinks, agents, now, failure) -> None:
    """A definite refusal (an answer) moves the message to the other provider; a timeout, whose outcome is
    unknown, does not (tests/messaging/test_unknown_outcome.py)."""
    person = reachable_person(agents, ("sms",))
    key = f"t-failover-{failure['status']}"
    from proactif.messaging import _providers as providers

    primary = providers.sms_router().order(key)[0].name
    fault(sinks, primary, count=1, **failure)
    [row] = send(spec(person.person_id, key, ["sms"]))
    assert row.status == "created" and row.failure in ("temporary", "technical") and row.attempts == 1
    assert row.not_before == TUESDAY_MORNING + timedelta(seconds=30)  # backoff
    now.advance(timedelta(seconds=31))
    outbox.send_batch([row.pk])
    row.refresh_from_db()
    assert row.status == "sent" and row.provider != primary and row.attempts == 2
    received = at_sink(sinks, key)
    assert [(r.provider, r.submissions) for r in received] == [(row.provider, 1)]  # nothing lost, nothing doubled
    row.refresh_from_db()
    assert row.status == "delivered"


def test_a_permanent_refusal_falls_back_to_the_next_channel(sinks, agents, now) -> None:
    person = reachable_person(agents, ("sms", "email"))
    from proactif.messaging import _providers as providers

    for client in providers.sms_router().clients:
        fault(sinks, client.name, status=400, count=1)
    [row] = send(spec(person.person_id, "t-fallback", ["sms", "email"]))
    assert (row.status, row.failure) == ("failed", "permanent")
    fallback = OutboxMessage.objects.get(fallback_of=row)
    assert fallback.tried == ["sms"]
    outbox.send_batch([fallback.pk])
    fallback.refresh_from_db()
    assert fallback.status == "sent" and fallback.channel == "email"
    assert at_sink(sinks, fallback.idempotency_key)[0].recipient == person.addresses["email"]


def test_an_sms_without_receipt_falls_back_after_the_configured_hours(sinks, agents, now, settings) -> None:
    person = reachable_person(agents, ("sms", "email"))
    sinks.http.config.receipts = "off"
    [row] = send(spec(person.person_id, "t-no-receipt", ["sms", "email"]))
    assert row.status == "sent"
    assert outbox.fallback_overdue() == {"fallbacks": 0}
    now.advance(timedelta(hours=settings.FALLBACK_HOURS, minutes=1))
    assert outbox.fallback_overdue() == {"fallbacks": 1}
    assert outbox.fallback_overdue() == {"fallbacks": 0}  # once
    assert OutboxMessage.objects.get(fallback_of=row).tried == ["sms"]


def test_quiet_hours_hold_non_urgent_messages_and_urgent_ones_go_at_once(sinks, agents, now) -> None:
    person = reachable_person(agents, ("email",))
    now.set(datetime(2026, 12, 1, 21, 15, tzinfo=UTC))  # 22:15 in Paris
    bulk, urgent = send(spec(person.person_id, "t-night-bulk", ["email"], lane="bulk"),
                        spec(person.person_id, "t-night-urgent", ["email"], lane="urgent"))
    assert bulk.status == "created" and bulk.not_before == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    assert urgent.status == "sent"


def test_frequency_caps_defer_the_third_message_of_the_day(sinks, agents, now) -> None:
    person = reachable_person(agents, ("email",))
    rows = send(*[spec(person.person_id, f"t-cap-{n}", ["email"]) for n in range(3)])
    assert sorted(r.status for r in rows) == ["created", "sent", "sent"]
    deferred = next(r for r in rows if r.status == "created")
    assert deferred.not_before >= TUESDAY_MORNING + timedelta(days=1)
    [urgent] = send(spec(person.person_id, "t-cap-urgent", ["email"], lane="urgent"))
    assert urgent.status == "sent"  # the explicit urgent bypass


def test_missing_data_fails_that_message_with_a_clear_error(sinks, agents, now) -> None:
    person = reachable_person(agents, ("sms",))
    [row] = send(spec(person.person_id, "t-missing", ["sms"], template="test-rdv"))
    assert row.status == "failed" and row.error == "donnée manquante pour ce message : « rendez_vous » absent"


def test_stop_opts_the_person_out_at_once_and_nothing_more_leaves_by_sms(sinks, agents, now) -> None:
    import httpx

    person = reachable_person(agents, ("sms", "email"))
    [first] = send(spec(person.person_id, "t-stop-1", ["sms"]))
    assert first.status == "sent"
    httpx.post(f"{sinks.http_url}/sms/inbound", json={"from": person.addresses["sms"], "text": "STOP"})
    sinks.pump()
    assert InboundMessage.objects.get(sender=person.addresses["sms"]).kind == "stop"
    assert OptOut.objects.filter(contact_value=person.addresses["sms"], revoked_at__isnull=True).exists()
    sms_only, with_fallback = send(spec(person.person_id, "t-stop-2", ["sms"]),
                                   spec(person.person_id, "t-stop-3", ["sms", "email"]))
    assert sms_only.status == "cancelled"
    assert with_fallback.status == "sent" and with_fallback.channel == "email"
    assert at_sink(sinks, "t-stop-2") == []


def test_a_reply_is_attached_to_the_person_and_published(sinks, agents, now, heard) -> None:
    import httpx

    person = reachable_person(agents, ("sms",))
    send(spec(person.person_id, "t-reply-1", ["sms"]))
    httpx.post(f"{sinks.http_url}/sms/inbound", json={"from": person.addresses["sms"], "text": "Je passe jeudi"})
    sinks.pump()
    reply = InboundMessage.objects.get(sender=person.addresses["sms"])
    assert (reply.kind, reply.person_id, reply.body) == ("reply", person.person_id, "Je passe jeudi")
    replies = [p for p in heard if p["event"] == "reply_received"]
    assert replies and replies[-1]["person_id"] == person.person_id


def test_letters_are_batched_into_one_pdf_with_a_manifest(sinks, agents, now, settings) -> None:
    from proactif.messaging._channels.letter import make_batch

    people = [reachable_person(agents, ("letter",), skip=n) for n in range(3)]
    rows = send(*[spec(p.person_id, f"t-letter-{n}", ["letter"]) for n, p in enumerate(people)])
    assert {r.status for r in rows} == {"sent"} and {r.channel for r in rows} == {"letter"}
    pdf, manifest, count = make_batch(settings.LETTERS_DIR, "test")
    assert count == 3 and pdf.read_bytes().startswith(b"%PDF")
    lines = manifest.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "page;reference;destinataire;code_postal_commune" and len(lines) == 4
    assert make_batch(settings.LETTERS_DIR, "again") is None  # pending letters were consumed


def test_the_letter_address_block_follows_the_french_postal_norm(agents) -> None:
    person = reachable_person(agents, ("letter",))
    lines = person.addresses["letter"].split("\n")
    assert 2 <= len(lines) <= 6 and all(len(line) <= 38 for line in lines)
    assert lines[-1][:5].isdigit() and lines[-1] == lines[-1].upper()  # "21999 BELLEROCHE"


def test_a_push_message_is_encrypted_for_the_subscription_and_read_back_by_the_sink(sinks, agents, now) -> None:
    from proactif.messaging._sinks import fake_push_subscription

    person = reachable_person(agents, ("email",))
    subscription = fake_push_subscription(sinks.http_url, f"sub-{person.person_id}")
    services.subscribe_push(person.person_id, subscription["endpoint"], subscription["keys"]["p256dh"],
                            subscription["keys"]["auth"])
    [row] = send(spec(person.person_id, "t-push", ["push"]))
    assert row.status == "sent" and row.channel == "push"
    [received] = at_sink(sinks, "t-push")
    assert received.body == f"Un test pour {person.prenom}" and received.subject == "Test"


def test_urgent_is_queued_before_bulk(monkeypatch, agents, now) -> None:
    from proactif.kernel import executor

    queued = []
    monkeypatch.setattr(executor, "enqueue", lambda name, ids: queued.append(name))
    person = reachable_person(agents, ("email",))
    keys = outbox.persist([spec(person.person_id, "t-lane-bulk", ["email"], lane="bulk"),
                           spec(person.person_id, "t-lane-urgent", ["email"], lane="urgent")])
    assert outbox.dispatch(keys.values()) == 2
    assert queued == ["messaging.send_urgent", "messaging.send_bulk"]


def test_the_sweeper_returns_rows_a_killed_worker_left_sending(agents, now, monkeypatch) -> None:
    from proactif.kernel import executor

    monkeypatch.setattr(executor, "enqueue", lambda name, ids: None)
    person = reachable_person(agents, ("email",))
    keys = outbox.persist([spec(person.person_id, "t-stuck", ["email"])])
    OutboxMessage.objects.filter(pk__in=keys.values()).update(status="sending", lease_until=clock.now())
    now.advance(timedelta(seconds=1))
    assert outbox.sweep() == {"stuck_returned": 1, "dispatched": 1}
    assert OutboxMessage.objects.get(idempotency_key="t-stuck").status == "created"


def test_the_idempotency_key_reaches_the_provider(sinks, agents, now) -> None:
    person = reachable_person(agents, ("sms",))
    [row] = send(spec(person.person_id, "t-key", ["sms"]))
    assert row.provider_message_id == f"{row.provider}-{hashlib.sha256(b't-key').hexdigest()[:16]}"


def test_a_resident_gets_the_template_in_their_language_when_there_is_one(sinks, agents, now) -> None:
    from proactif.registry.models import Person

    services.save_template("test-info", "email", "Hello {{ personne.prenom }},\nthis is a test.", subject="Test",
                           language="en", publish=True)
    english, french = reachable_person(agents, ("email",)), reachable_person(agents, ("email",), skip=1)
    Person.objects.filter(pk=english.person_id).update(langue="en")
    to_english, to_french = send(spec(english.person_id, "t-lang-en", ["email"]),
                                 spec(french.person_id, "t-lang-fr", ["email"]))
    assert to_english.body.startswith("Hello ") and to_french.body.startswith("Bonjour ")
