"""Bounces and complaints (issue 20): DSN (RFC 3464) and ARF (RFC 5965) reports shaped as the RFCs' examples are
read into hard and soft bounces and complaints; the address is stopped after 1 hard, 3 soft or 1 complaint, and a
stopped address receives nothing more — a direct message to it nor a resident's e-mail; each report is the
`email_feedback` event; the provider's webhook is signed and refuses replays and forgeries; the SMTP sink returns
reports for its rebond-dur / rebond-temp / plainte recipients, applied end to end."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.test import Client

from proactif.kernel import clock
from proactif.messaging import _feedback as feedback
from proactif.messaging import _outbox as outbox
from proactif.messaging import _receipts as receipts
from proactif.messaging import services
from proactif.messaging._sinks import smtp as smtp_sink
from proactif.messaging.models import EmailFeedback, OutboxMessage
from proactif.registry import services as registry
from proactif.registry.models import OptOut
from tests.sinks import reachable_person

pytestmark = pytest.mark.django_db

SECRET = "secret-du-relais-4b7e"
ADDRESS = "jeanne.martin@example.org"


def dsn(address: str, key: str, action: str = "failed", status: str = "5.0.0",
        returned: str = "text/rfc822-headers") -> bytes:
    """A DSN as in RFC 3464 §10 (the examples' shape), returning the original headers."""
    original = (f"From: Ville de Belleroche <ne-pas-repondre@belleroche.example>\r\nTo: {address}\r\n"
                f"Subject: La lettre de Belleroche\r\nMessage-ID: <0f3a@proactif>\r\nX-Proactif-Key: {key}\r\n")
    if returned == "message/rfc822":
        original += "\r\nBonjour,\r\n"
    return ("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\r\n"
            "To: <ne-pas-repondre@belleroche.example>\r\nSubject: Returned mail: Host unknown\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="RAA14128.773615765/CS.UTK.EDU"'
            "\r\n\r\n--RAA14128.773615765/CS.UTK.EDU\r\n\r\n"
            "   ----- The following addresses had delivery problems -----\r\n"
            f"<{address}>  (unrecoverable error)\r\n\r\n"
            "--RAA14128.773615765/CS.UTK.EDU\r\ncontent-type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\nArrival-Date: Mon, 7 Dec 2026 02:10:03 +0100\r\n\r\n"
            f"Original-Recipient: rfc822;{address}\r\nFinal-Recipient: RFC822; {address}\r\n"
            f"Action: {action}\r\nStatus: {status}\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <jeanne.martin@example.org>... User unknown\r\n"
            "Remote-MTA: dns; mx2.example.org\r\n\r\n"
            f"--RAA14128.773615765/CS.UTK.EDU\r\ncontent-type: {returned}\r\n\r\n{original}\r\n"
            "--RAA14128.773615765/CS.UTK.EDU--\r\n").encode()


def arf(address: str, key: str, feedback_type: str = "abuse") -> bytes:
    """An ARF report as in RFC 5965 appendix B.2, the original message attached whole."""
    return ("From: <abusedesk@example.com>\r\nDate: Thu, 8 Mar 2005 17:40:36 EDT\r\n"
            "Subject: FW: La lettre de Belleroche\r\nTo: <abuse@belleroche.example>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=feedback-report;\r\n\tboundary="part1_13d.2e68ed54_boundary"'
            "\r\n\r\n--part1_13d.2e68ed54_boundary\r\nContent-Type: text/plain; charset=\"US-ASCII\"\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\nThis is an email abuse report for an email message received "
            "from IP 192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.\r\n\r\n"
            "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/feedback-report\r\n\r\n"
            f"Feedback-Type: {feedback_type}\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n"
            "Original-Mail-From: <ne-pas-repondre@belleroche.example>\r\n"
            f"Original-Rcpt-To: <{address}>\r\nArrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n"
            "Source-IP: 192.0.2.1\r\n\r\n"
            "--part1_13d.2e68ed54_boundary\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
            f"From: <ne-pas-repondre@belleroche.example>\r\nTo: <{address}>\r\nSubject: La lettre de Belleroche\r\n"
            f"Message-ID: <8787KJKJ3K4J3K4J3K4J3.mail@example.net>\r\nX-Proactif-Key: {key}\r\n\r\nBonjour\r\n"
            "--part1_13d.2e68ed54_boundary--\r\n").encode()


def sent(key: str, address: str = ADDRESS, person_id: int | None = None, status: str = "sent") -> OutboxMessage:
    now = clock.now()
    return OutboxMessage.objects.create(
        idempotency_key=key, person_id=person_id, service="communication", purpose="information", lane="bulk",
        policy=["email"], channel="email", template_key="lettre", context={"abonne": 7}, status=status,
        provider="smtp", provider_message_id=f"<{key}@proactif>", recipient=address, not_before=now, created_at=now,
        updated_at=now, sent_at=now)


def opposed(address: str) -> bool:
    return "email" not in registry.contact_channels([address], "information")[address]


# --- reading ------------------------------------------------------------------------------------------------------
def test_a_failed_5xx_recipient_is_a_hard_bounce_and_its_message_is_named() -> None:
    [report] = feedback.parse(dsn(ADDRESS, "lettre:3:abonne:7", status="5.1.1"))
    assert report == feedback.Report("hard", ADDRESS, "lettre:3:abonne:7", "<0f3a@proactif>", "5.1.1",
                                     "550 5.1.1 <jeanne.martin@example.org>... User unknown")
    [whole] = feedback.parse(dsn(ADDRESS, "k-entier", returned="message/rfc822"))
    assert (whole.kind, whole.key) == ("hard", "k-entier")


@pytest.mark.parametrize(("action", "status", "kind"), [("delayed", "4.4.7", "soft"), ("failed", "4.2.2", "soft"),
                                                         ("delayed", "", "soft"), ("failed", "", "hard"),
                                                         ("delivered", "2.0.0", None), ("relayed", "2.0.0", None)])
def test_4xx_and_delays_are_soft_deliveries_say_nothing(action: str, status: str, kind: str | None) -> None:
    reports = feedback.parse(dsn(ADDRESS, "k", action=action, status=status))
    assert [r.kind for r in reports] == ([kind] if kind else [])


def test_an_abuse_report_is_a_complaint_a_not_spam_one_is_not() -> None:
    [report] = feedback.parse(arf(ADDRESS, "lettre:3:abonne:9"))
    assert (report.kind, report.address, report.key, report.status) == ("complaint", ADDRESS, "lettre:3:abonne:9",
                                                                         "abuse")
    assert feedback.parse(arf(ADDRESS, "k", feedback_type="not-spam")) == []


@pytest.mark.parametrize(("raw", "error"), [
    (b"", "corps vide"), (b"n'importe quoi", "text/plain"),
    (b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\r\n\r\n--b--\r\n',
     "report-type"),
    (b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n',
     "sans partie message/delivery-status")])
def test_what_is_not_a_report_is_unreadable(raw: bytes, error: str) -> None:
    with pytest.raises(feedback.Unreadable, match=error):
        feedback.parse(raw)


# --- thresholds ---------------------------------------------------------------------------------------------------
def test_one_hard_bounce_stops_the_address_and_fails_the_message(heard: list[dict[str, object]]) -> None:
    row = sent("lettre:1:abonne:7")
    assert not opposed(ADDRESS)
    assert feedback.apply("relais", dsn(ADDRESS, row.idempotency_key, status="5.1.1")) == {
        "applied": 1, "already": 0, "unknown": 0, "stopped": 1}
    assert opposed(ADDRESS)
    opt_out = OptOut.objects.get(contact_value=ADDRESS)
    assert (opt_out.channel, opt_out.purpose, opt_out.source, opt_out.person_id) == ("email", "*", "email_rebond", None)
    row.refresh_from_db()
    assert (row.status, row.failure, row.error) == ("failed", "permanent", "rebond définitif 5.1.1 (relais)")
    assert [e for e in heard if e["event"] == "email_feedback"] == [
        {"event": "email_feedback", "person_id": 0, "instance_id": None, "address": ADDRESS, "kind": "hard",
         "key": "lettre:1:abonne:7", "stopped": True}]
    # the same report again (a provider's retry): counted once
    assert feedback.apply("relais", dsn(ADDRESS, row.idempotency_key, status="5.1.1"))["already"] == 1
    assert EmailFeedback.objects.filter(address=ADDRESS).count() == 1
    assert OptOut.objects.filter(contact_value=ADDRESS).count() == 1


def test_three_soft_bounces_on_three_messages_stop_the_address(heard: list[dict[str, object]]) -> None:
    rows = [sent(f"lettre:{n}:abonne:7") for n in range(1, 5)]
    for n, row in enumerate(rows[:3], start=1):
        outcome = feedback.apply_report("relais", feedback.parse(dsn(ADDRESS, row.idempotency_key, "delayed",
                                                                     "4.2.2"))[0])
        assert outcome == ("stopped" if n == 3 else "applied")
        assert opposed(ADDRESS) is (n == 3)
        # the same message delayed again is not another bounce
        assert feedback.apply("relais", dsn(ADDRESS, row.idempotency_key, "delayed", "4.2.2"))["already"] == 1
    assert [e["stopped"] for e in heard if e["event"] == "email_feedback"] == [False, False, True]
    assert OutboxMessage.objects.get(pk=rows[0].pk).status == "sent"  # a soft bounce fails nothing
    assert list(EmailFeedback.objects.filter(address=ADDRESS).values_list("stopped", flat=True).order_by("id")) == [
        False, False, True]


def test_one_complaint_stops_the_address_and_the_person_hears_of_it(agents, heard) -> None:
    person = reachable_person(agents, ("email",), purpose="information")
    address = person.addresses["email"]
    row = sent("lettre:5:personne", address=address, person_id=person.person_id)
    assert feedback.apply("relais", arf(address, row.idempotency_key))["stopped"] == 1
    assert OptOut.objects.get(contact_value=address).source == "email_plainte"
    [event] = [e for e in heard if e["event"] == "email_feedback"]
    assert (event["person_id"], event["kind"], event["stopped"]) == (person.person_id, "complaint", True)
    # the person's e-mail is closed at send time: their next message goes nowhere on that channel
    assert "email" not in registry.reachable([person.person_id], "information")[person.person_id].allowed


def test_a_report_naming_no_message_or_another_address_changes_nothing(heard) -> None:
    row = sent("lettre:6:abonne:7")
    assert feedback.apply("relais", dsn(ADDRESS, "inconnu:1"))["unknown"] == 1
    assert feedback.apply("relais", dsn("quelquun.dautre@example.org", row.idempotency_key))["unknown"] == 1
    sms = sent("sms:1")
    OutboxMessage.objects.filter(pk=sms.pk).update(channel="sms", policy=["sms"])
    assert feedback.apply("relais", dsn(ADDRESS, "sms:1"))["unknown"] == 1
    assert not EmailFeedback.objects.exists() and not opposed(ADDRESS) and heard == []


# --- a stopped address gets nothing -------------------------------------------------------------------------------
def test_a_stopped_address_receives_no_direct_message(sinks) -> None:
    services.save_template("lettre-test", "email", "Bonjour, {{ texte }}", subject="La lettre", publish=True)
    row = sent("lettre:7:abonne:7", address="ancienne.adresse@example.org")
    feedback.apply("relais", dsn("ancienne.adresse@example.org", row.idempotency_key))
    keys = outbox.persist([outbox.MessageSpec("lettre:8:abonne:7", None, "lettre-test", "information", "communication",
                                              policy=["email"], lane="bulk", context={"texte": "la suite", "abonne": 7},
                                              trigger="test", address="ancienne.adresse@example.org")])
    outbox.send_batch(list(keys.values()))
    later = OutboxMessage.objects.get(idempotency_key="lettre:8:abonne:7")
    assert (later.status, later.error) == ("cancelled", "opposition enregistrée pour ce destinataire")
    sinks.pump()
    assert not services.sink_messages(channel="email", query="ancienne.adresse").exists()


# --- the webhook --------------------------------------------------------------------------------------------------
@pytest.fixture
def relay(settings):
    settings.EMAIL_FEEDBACK_SECRETS = f'{{"relais": "{SECRET}"}}'
    return Client()


def post(client: Client, body: bytes, provider: str = "relais", stamp: str | None = None, secret: str = SECRET):
    stamp = str(int(time.time())) if stamp is None else stamp
    return client.post(f"/api/v1/messaging/email-feedback/{provider}", body, content_type="multipart/report",
                       HTTP_X_PROACTIF_TIMESTAMP=stamp, HTTP_X_PROACTIF_SIGNATURE=receipts.signature(secret, body,
                                                                                                       stamp))


def test_the_webhook_applies_a_signed_report(relay, heard) -> None:
    row = sent("lettre:9:abonne:7")
    answer = post(relay, dsn(ADDRESS, row.idempotency_key, status="5.1.1"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"outcome": "applied", "applied": 1, "already": 0, "unknown": 0, "stopped": 1}
    assert opposed(ADDRESS) and EmailFeedback.objects.get().provider == "relais"
    again = post(relay, dsn(ADDRESS, row.idempotency_key, status="5.1.1"))
    assert (again.status_code, again.json()["outcome"], again.json()["already"]) == (202, "ignored", 1)
    unknown = post(relay, arf(ADDRESS, "inconnu:2"))
    assert (unknown.status_code, unknown.json()["outcome"], unknown.json()["unknown"]) == (202, "ignored", 1)


def test_the_webhook_refuses_forgeries_replays_and_garbage(relay) -> None:
    row = sent("lettre:10:abonne:7")
    body = dsn(ADDRESS, row.idempotency_key)
    old = str(int(time.time()) - 3600)
    for answer, status, message in (
            (post(relay, body, secret="devine"), 401, "signature invalide"),
            (post(relay, body, stamp=old), 401, "trop ancien"),
            (post(relay, body, stamp=str(int(time.time()) + 600)), 401, "futur"),
            (post(relay, body, stamp=""), 401, "horodatage manquant"),
            (post(relay, body, provider="inconnu"), 401, "fournisseur inconnu"),
            (post(relay, b"pas un rapport"), 400, "multipart/report"),
            (post(relay, b""), 400, "corps vide")):
        assert answer.status_code == status, answer.content
        assert message in answer.json()["detail"]
    tampered = relay.post("/api/v1/messaging/email-feedback/relais", body + b" ", content_type="multipart/report",
                          HTTP_X_PROACTIF_TIMESTAMP=str(int(time.time())),
                          HTTP_X_PROACTIF_SIGNATURE=receipts.signature(SECRET, body, str(int(time.time()))))
    assert tampered.status_code == 401
    assert not EmailFeedback.objects.exists() and not opposed(ADDRESS)
    row.refresh_from_db()
    assert row.status == "sent"


# --- the SMTP sink ------------------------------------------------------------------------------------------------
def test_the_sink_returns_a_report_only_for_its_feedback_recipients() -> None:
    assert smtp_sink.report_for("jeanne@example.org", "k", "S") is None
    for recipient, kind in (("rebond-dur@example.org", "hard"), ("Rebond-Temp.2@mairie.example", "soft"),
                            ("plainte-1@example.org", "complaint")):
        raw = smtp_sink.report_for(recipient, "k-1", "La lettre")
        assert raw is not None
        [report] = feedback.parse(raw)
        assert (report.kind, report.address, report.key) == (kind, recipient, "k-1")
    assert smtp_sink.report_for("rebond-dur@example.org", "k\r\nBcc: x", "S") is None


def test_sink_bounces_stop_addresses_end_to_end(sinks, heard) -> None:
    with clock.use(clock.FixedClock(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))):  # a Tuesday morning: no quiet hours
        sink_bounces(sinks, heard)


def sink_bounces(sinks, heard) -> None:
    services.save_template("lettre-test", "email", "Bonjour, {{ texte }}", subject="La lettre", publish=True)

    def letter(n: int, address: str) -> OutboxMessage:
        key = f"lettre:{n}:{address}"
        keys = outbox.persist([outbox.MessageSpec(key, None, "lettre-test", "information", "communication",
                                                  policy=["email"], lane="bulk",
                                                  context={"texte": "les nouvelles", "abonne": n},
                                                  trigger="test", address=address)])
        outbox.send_batch(list(keys.values()))
        sinks.pump()
        return OutboxMessage.objects.get(idempotency_key=key)

    hard = letter(1, "rebond-dur@example.org")
    assert (hard.status, hard.failure) == ("failed", "permanent")
    assert opposed("rebond-dur@example.org")
    assert letter(2, "rebond-dur@example.org").status == "cancelled"
    soft = [letter(n, "rebond-temp@example.org") for n in (3, 4, 5)]
    assert [m.status for m in soft] == ["sent", "sent", "sent"] and opposed("rebond-temp@example.org")
    assert letter(6, "rebond-temp@example.org").status == "cancelled"
    assert letter(7, "plainte@example.org").status == "sent" and opposed("plainte@example.org")
    assert letter(8, "lecteur@example.org").status == "sent" and not opposed("lecteur@example.org")
    assert [(e["kind"], e["stopped"], e["person_id"]) for e in heard if e["event"] == "email_feedback"] == [
        ("hard", True, 0), ("soft", False, 0), ("soft", False, 0), ("soft", True, 0), ("complaint", True, 0)]
    assert dict(EmailFeedback.objects.values_list("message_key", "provider").filter(kind="hard")) == {
        "lettre:1:rebond-dur@example.org": "sink"}


def test_the_service_applies_a_report_and_says_whether_an_address_is_stopped() -> None:
    row = sent("lettre:11:abonne:7")
    assert not services.email_stopped(ADDRESS)
    assert services.apply_email_feedback("boite-rebonds", arf(ADDRESS, row.idempotency_key))["stopped"] == 1
    assert services.email_stopped(ADDRESS) and not services.email_stopped("autre@example.org")
    with pytest.raises(ValueError, match="multipart/report"):
        services.apply_email_feedback("boite-rebonds", b"Subject: bonjour\r\n\r\ntexte")
