"""Messages addressed to a contact value without a person (`MessageSpec(person_id=None, address=…,
policy=[channel])`): a registered person's emergency contact, often no resident. The value is stored as the
recipient when the message is created; at send time an opposition on it (for its purpose or all, on its channel
or all) stops it, its purpose's quiet hours hold it like anyone's, the caps never do; its template gets the
message's data without `personne`; receipts, the absence of fallback, STOP and replies from the number, the
outbox and the inbox all work without a person; the messages are found and blanked for the GDPR of the person
the contact is attached to, through an id of their context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.test import Client

from proactif.kernel import clock
from proactif.kernel.capabilities import Sending
from proactif.messaging import _outbox as outbox
from proactif.messaging import _receipts as receipts
from proactif.messaging import _sending as sending
from proactif.messaging import services
from proactif.messaging.models import InboundMessage, OutboxMessage, SinkMessage
from proactif.registry.models import Document, OptOut
from tests.messaging.declaring import declare

pytestmark = pytest.mark.django_db

NUMBER = "+33612345678"  # nobody's in the seeded commune
EMAIL = "voisine.contact@example.org"
TUESDAY_MORNING = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # 10:30 in Paris


@pytest.fixture
def now():
    moving = clock.FixedClock(TUESDAY_MORNING)
    with clock.use(moving):
        yield moving


@pytest.fixture(autouse=True)
def templates(db):
    services.save_template("test-contact", "sms", "{{ collectivite.nom }} : {{ texte }}", publish=True)
    services.save_template("test-contact", "email",
                           "Le titre {{ document.type }} n° {{ document.numero }}. {{ texte }}",
                           subject="Message de la mairie", publish=True)
    services.save_template("test-contact-nomme", "sms", "Bonjour {{ personne.prenom }}", publish=True)


def to_contact(key: str, address: str = NUMBER, channel: str = "sms", purpose: str = "veille_sante",
               template: str = "test-contact", **context: object) -> outbox.MessageSpec:
    return outbox.MessageSpec(key, None, template, purpose, "ccas", policy=[channel],
                              context={"texte": "votre voisine va bien", "inscription_id": 7, **context},
                              trigger="test", address=address)


def send(*specs: outbox.MessageSpec) -> list[OutboxMessage]:
    keys = outbox.persist(specs)
    outbox.send_batch(list(keys.values()))
    return [OutboxMessage.objects.get(idempotency_key=s.key) for s in specs]


# --- created ------------------------------------------------------------------------------------------------------
def test_the_address_is_the_recipient_from_creation_on_one_concrete_channel() -> None:
    keys = outbox.persist([to_contact("t-direct-new", address="06 12 34 56 78")])
    row = OutboxMessage.objects.get(pk=keys["t-direct-new"])
    assert (row.person_id, row.recipient, row.policy, row.status) == (None, NUMBER, ["sms"], "created")
    outbox.persist([to_contact("t-direct-mail", address="Voisine.Contact@EXAMPLE.org", channel="email")])
    assert OutboxMessage.objects.get(idempotency_key="t-direct-mail").recipient == "Voisine.Contact@example.org"
    for policy in (["preferred"], ["sms", "email"], ["letter"], ["push"]):
        with pytest.raises(ValueError, match="un seul canal"):
            outbox.persist([outbox.MessageSpec("t-bad", None, "test-contact", "veille_sante", "ccas", policy=policy,
                                               address=NUMBER)])
    with pytest.raises(ValueError, match="ne vise pas aussi une personne"):
        outbox.persist([outbox.MessageSpec("t-bad", 1, "test-contact", "veille_sante", "ccas", policy=["sms"],
                                           address=NUMBER)])
    with pytest.raises(ValueError, match="numéro de téléphone invalide"):
        outbox.persist([to_contact("t-bad", address="12")])
    with pytest.raises(ValueError, match="adresse e-mail invalide"):
        outbox.persist([to_contact("t-bad", address="pas-une-adresse", channel="email")])
    assert not OutboxMessage.objects.filter(idempotency_key="t-bad").exists()


# --- sent -------------------------------------------------------------------------------------------------------
def test_an_sms_and_an_email_reach_the_contact_with_the_message_data_and_no_person(sinks, now, settings) -> None:
    document = Document.objects.order_by("id").first()
    sms, mail = send(to_contact("t-direct-sms"),
                     to_contact("t-direct-email", address=EMAIL, channel="email", document_id=document.pk))
    assert (sms.status, sms.channel, sms.recipient) == ("sent", "sms", NUMBER)
    assert sms.body == f"{settings.COLLECTIVITE_NAME} : votre voisine va bien"
    assert mail.status == "sent" and f"n° {document.numero}" in mail.body
    sinks.pump()
    assert SinkMessage.objects.get(idempotency_key="t-direct-sms").recipient == NUMBER
    assert SinkMessage.objects.get(idempotency_key="t-direct-email").recipient == EMAIL
    sms.refresh_from_db()
    assert sms.status == "delivered"  # the SMS sink's receipt, as for anyone's


def test_a_template_that_names_the_person_fails_as_missing_data(sinks, now) -> None:
    [row] = send(to_contact("t-direct-named", template="test-contact-nomme"))
    assert (row.status, row.error) == ("failed", "donnée manquante pour ce message : « personne » absent")
    assert not OutboxMessage.objects.filter(fallback_of=row).exists()


def test_an_opposition_on_the_value_stops_it_at_send_time(sinks, now) -> None:
    keys = outbox.persist([to_contact("t-direct-opposed"), to_contact("t-direct-other-purpose"),
                           to_contact("t-direct-mail-opposed", address=EMAIL, channel="email",
                                      document_id=Document.objects.order_by("id").first().pk)])
    OptOut.objects.create(contact_value=NUMBER, purpose="veille_sante", channel="sms", source="test",
                          created_at=TUESDAY_MORNING)
    OptOut.objects.create(contact_value=EMAIL, purpose="alertes", channel="*", source="test",
                          created_at=TUESDAY_MORNING)  # another purpose: not this message's
    outbox.send_batch(list(keys.values()))
    rows = {r.idempotency_key: r for r in OutboxMessage.objects.filter(pk__in=keys.values())}
    assert (rows["t-direct-opposed"].status, rows["t-direct-opposed"].error) == (
        "cancelled", "opposition enregistrée pour ce destinataire")
    assert rows["t-direct-mail-opposed"].status == "sent"
    [other] = send(to_contact("t-direct-rappel", purpose="rappels_echeances"))
    assert other.status == "sent"  # the opposition named veille_sante only


def test_quiet_hours_of_its_purpose_hold_it_and_the_caps_never_do(sinks, now, monkeypatch) -> None:
    declare(monkeypatch, sending=(Sending("veille_sante", lambda: "09:00-19:00", every_day=True),))  # capped
    rows = send(*(to_contact(f"t-direct-cap-{n}") for n in range(4)))
    assert {r.status for r in rows} == {"sent"}  # no person, no history: four the same day
    now.set(datetime(2026, 12, 1, 19, 30, tzinfo=UTC))  # 20:30 in Paris
    [evening] = send(to_contact("t-direct-evening"))
    assert (evening.status, evening.not_before) == ("created", datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    [other] = send(to_contact("t-direct-evening-other", purpose="rappels_echeances"))  # PROACTIF_QUIET_HOURS
    assert (other.status, other.not_before) == ("created", datetime(2026, 12, 2, 7, 0, tzinfo=UTC))


def test_a_direct_message_is_real_unless_its_context_says_synthetic(now) -> None:
    keys = outbox.persist([to_contact("t-direct-real"), to_contact("t-direct-synth", synthetic=True)])
    rows = list(OutboxMessage.objects.filter(pk__in=keys.values()).order_by("idempotency_key"))
    decisions = {d.row.idempotency_key: d for d in sending.decide(rows, TUESDAY_MORNING)}
    assert decisions["t-direct-real"].meta["synthetic"] is False
    assert decisions["t-direct-synth"].meta["synthetic"] is True


def test_no_fallback_after_a_failure_nor_without_a_receipt(sinks, now, settings) -> None:
    sinks.http.config.receipts = "off"
    late, refused = send(to_contact("t-direct-late"), to_contact("t-direct-refused"))
    assert late.status == refused.status == "sent"
    assert receipts.apply_receipt(refused.provider, {"reference": refused.idempotency_key, "status": "failed"}) \
        == "failed"
    now.advance(timedelta(hours=settings.FALLBACK_HOURS, minutes=1))
    assert outbox.fallback_overdue() == {"fallbacks": 0}
    assert not OutboxMessage.objects.filter(fallback_of__in=[late, refused]).exists()


# --- answered ---------------------------------------------------------------------------------------------------
def test_a_stop_from_the_number_opposes_it_and_a_reply_is_kept_without_a_person(sinks, now, heard) -> None:
    [first] = send(to_contact("t-direct-first"))
    httpx.post(f"{sinks.http_url}/sms/inbound", json={"from": "0612345678", "text": "Merci, bien reçu"})
    sinks.pump()
    reply = InboundMessage.objects.get(sender=NUMBER)
    assert (reply.kind, reply.person_id, reply.message_id) == ("reply", None, first.pk)
    assert not [e for e in heard if e["event"] == "reply_received"]  # nobody to publish it for
    httpx.post(f"{sinks.http_url}/sms/inbound", json={"from": NUMBER, "text": "STOP"})
    sinks.pump()
    assert OptOut.objects.filter(contact_value=NUMBER, person__isnull=True, revoked_at__isnull=True).exists()
    [after] = send(to_contact("t-direct-after-stop"))
    assert after.status == "cancelled"


# --- read by agents ---------------------------------------------------------------------------------------------
def test_the_outbox_the_message_and_the_inbox_show_it(sinks, now, agents) -> None:
    [row] = send(to_contact("t-direct-shown"))
    client = Client()
    client.force_login(agents["ccas"])
    listing = client.get("/messages/")
    assert listing.status_code == 200 and "+336 •• •• •• 78" in listing.content.decode()
    assert client.get(f"/messages/{row.pk}/").status_code == 200
    sinks.pump()
    assert client.get("/messages/boite-de-test/").status_code == 200


# --- GDPR of the person the contact is attached to ----------------------------------------------------------------
def test_direct_messages_are_found_and_blanked_by_an_id_of_their_context(sinks, now) -> None:
    sent, other, pending = send(to_contact("t-gdpr-1"), to_contact("t-gdpr-2", inscription_id=8),
                                to_contact("t-gdpr-3"))
    keys = outbox.persist([to_contact("t-gdpr-later"),
                           outbox.MessageSpec("t-gdpr-person", sent.pk, "test-contact", "veille_sante", "ccas",
                                              policy=["sms"], context={"inscription_id": 7})])
    httpx.post(f"{sinks.http_url}/sms/inbound", json={"from": NUMBER, "text": "Je m'en occupe"})
    sinks.pump()
    found = set(services.direct_messages("inscription_id", [7]).values_list("idempotency_key", flat=True))
    assert found == {"t-gdpr-1", "t-gdpr-3", "t-gdpr-later"}  # not the contact of 8, not a person's message
    assert services.erase_direct("inscription_id", [7]) == 3
    blanked = OutboxMessage.objects.get(pk=sent.pk)
    assert (blanked.recipient, blanked.body, blanked.context, blanked.status) == ("", "", {"inscription_id": 7},
                                                                                  "delivered")
    later = OutboxMessage.objects.get(pk=keys["t-gdpr-later"])
    assert later.status == "cancelled" and later.recipient == ""
    assert OutboxMessage.objects.get(pk=other.pk).recipient == NUMBER
    assert not InboundMessage.objects.filter(message_id__in=[sent.pk, pending.pk]).exists()
    assert services.direct_messages("inscription_id", []).count() == 0
    with pytest.raises(ValueError, match="clé de contexte invalide"):
        services.direct_messages("inscription__id", [7])
