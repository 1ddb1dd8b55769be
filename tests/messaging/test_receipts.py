"""SMS providers' webhooks as an attacker tries them (issue 14): STOP honoured whatever form the sender and the
text take; a receipt changes only a message its provider sent on its channel; signatures cover a timestamp and
expire; the shipped secrets stop the start outside a demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from proactif.kernel import clock
from proactif.messaging import _providers as providers
from proactif.messaging import _receipts as receipts
from proactif.messaging import domain
from proactif.messaging._sinks.http import sign
from proactif.messaging.models import DeliveryReceipt, InboundMessage, OutboxMessage
from proactif.registry import services as registry
from proactif.registry.models import ContactPoint, OptOut
from tests.conftest import some_person_id

SECRETS = {"sms-a": "secret-de-a-9f3c", "sms-b": "secret-de-b-41d7"}
NUMBER = "+33600104577"


@pytest.fixture
def gateways(settings, db):
    settings.SMS_PROVIDERS = json.dumps([
        {"name": name, "format": "json", "url": "http://127.0.0.1:9/sms/json", "weight": 1, "token": "t",
         "secret": secret} for name, secret in SECRETS.items()])
    providers.reset()
    yield SECRETS
    providers.reset()


@pytest.fixture
def resident(db) -> int:
    """A resident whose mobile is NUMBER, kept in E.164 as the registry keeps every number."""
    person_id = some_person_id(source="synth")
    ContactPoint.objects.create(person_id=person_id, kind="phone", value=NUMBER, is_mobile=True,
                                created_at=clock.now())
    return person_id


def post(client, path: str, payload: object, provider: str = "sms-a", stamp: str | None = None,
         secret: str | None = None):
    body = json.dumps(payload).encode()
    stamp = str(int(time.time())) if stamp is None else stamp
    return client.post(f"/api/v1/messaging/{path}/{provider}", body, content_type="application/json",
                       HTTP_X_PROACTIF_TIMESTAMP=stamp,
                       HTTP_X_PROACTIF_SIGNATURE=sign(secret or SECRETS[provider], body, stamp))


def row(key: str, channel: str, provider: str, status: str = "sent", provider_id: str = "", **fields):
    now = clock.now()
    return OutboxMessage.objects.create(
        idempotency_key=key, person_id=fields.pop("person_id", None), service="etat_civil",
        purpose="rappels_echeances", policy=fields.pop("policy", [channel]), channel=channel, template_key="x",
        status=status, not_before=now, recipient=fields.pop("recipient", NUMBER), body="Bonjour", provider=provider,
        provider_message_id=provider_id, created_at=now, updated_at=now,
        sent_at=None if status == "sending" else now, **fields)


# --- STOP -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "STOP", "stop", "Stop.", "merci de ne plus m'écrire STOP", "S\u200bTOP", "\u200bSTOP\u00a0", "STOP\u202f!",
    "\ufeffstop", "STOPSMS", "STOP SMS", "stop\u00a0sms", "ＳＴＯＰ", "STOP 36180", "ARRÊT", "désinscription"])
def test_stop_is_recognised_in_every_form_residents_write_it(text: str) -> None:
    assert domain.inbound_kind(text) == "stop"


@pytest.mark.parametrize("text", ["Stopper la fuite ?", "on travaille non-stop", "je ne veux pas arrêter",
                                  "Je passe jeudi", "START"])
def test_a_word_that_merely_contains_stop_is_not_a_stop(text: str) -> None:
    assert domain.inbound_kind(text) != "stop"


@pytest.mark.parametrize("raw", ["33600104577", "0600104577", "+33600104577", "0033 6 00 10 45 77",
                                 "+33 6 00 10 45 77", "06.00.10.45.77"])
def test_inbound_senders_are_normalised_to_e164(raw: str) -> None:
    assert domain.phone_e164(raw) == NUMBER


def test_an_alphanumeric_or_short_sender_is_no_number() -> None:
    assert domain.phone_e164("BELLEROCHE") is None and domain.phone_e164("36180") is None


@pytest.mark.parametrize(("sender", "text"), [
    ("33600104577", "STOP"), ("0600104577", "merci de ne plus m'écrire STOP"), ("33600104577", "S\u200bTOP\u00a0"),
    ("0600104577", "stopsms"), ("+33600104577", "STOP SMS")])
def test_stop_from_a_number_without_plus_opposes_sms_for_its_owner(gateways, client, resident, sender,
                                                                    text) -> None:
    answer = post(client, "inbound", {"from": sender, "text": text})
    assert answer.status_code == 200 and answer.json() == {"kind": "stop"}
    assert InboundMessage.objects.get(sender=NUMBER).kind == "stop"
    assert OptOut.objects.filter(contact_value=NUMBER, channel="sms", revoked_at__isnull=True).exists()
    assert OptOut.objects.filter(person_id=resident, channel="sms", source="sms_stop").exists()
    assert not registry.may_contact(resident, "rappels_echeances", "sms", NUMBER)
    assert registry.may_contact(resident, "rappels_echeances", "email")


def test_a_reply_from_a_national_number_reaches_the_person_who_got_the_last_sms(gateways, client, resident,
                                                                                heard) -> None:
    row("t-reply-national", "sms", "sms-a", person_id=resident)
    assert post(client, "inbound", {"from": "0600104577", "text": "Je passe jeudi"}).json() == {"kind": "reply"}
    reply = InboundMessage.objects.get(sender=NUMBER)
    assert reply.person_id == resident and reply.message.idempotency_key == "t-reply-national"
    assert [e["person_id"] for e in heard if e["event"] == "reply_received"] == [resident]


# --- receipts: provider and channel -----------------------------------------------------------------------------
def test_a_receipt_changes_only_a_message_its_provider_sent_on_its_channel(gateways, client) -> None:
    email = row("t-r-email", "email", "smtp")
    letter = row("t-r-letter", "letter", "courrier", policy=["letter", "email"])
    other = row("t-r-other", "sms", "sms-b", provider_id="sms-b-1")
    own = row("t-r-own", "sms", "sms-a", provider_id="sms-a-1")
    for target, status in ((email, "delivered"), (letter, "failed"), (other, "failed"), (other, "delivered")):
        answer = post(client, "receipts", {"reference": target.idempotency_key, "status": status})
        assert answer.status_code == 200 and answer.json() == {"outcome": "unknown"}
    # by the provider's id too: sms-b's id is not sms-a's to use
    assert post(client, "receipts", {"id": "sms-b-1", "status": "failed"}).json() == {"outcome": "unknown"}
    for target in (email, letter, other):
        target.refresh_from_db()
        assert target.status == "sent" and target.delivered_at is None
    assert not OutboxMessage.objects.filter(fallback_of=letter).exists()  # no fallback letter → e-mail
    assert not DeliveryReceipt.objects.filter(message__in=[email, letter, other]).exists()
    assert post(client, "receipts", {"reference": "t-r-own", "id": "sms-a-1", "status": "delivered"}).json() == {
        "outcome": "delivered"}
    own.refresh_from_db()
    assert own.status == "delivered"


def test_a_reference_with_another_message_id_is_refused(gateways) -> None:
    row("t-r-mismatch", "sms", "sms-a", provider_id="sms-a-7")
    assert receipts.apply_receipt("sms-a", {"reference": "t-r-mismatch", "id": "sms-a-8",
                                            "status": "failed"}) == "unknown"


def test_a_receipt_overtaking_the_send_is_kept_for_its_channel_only(gateways) -> None:
    sms = row("t-r-sending-sms", "", "", status="sending", policy=["sms", "email"])
    email = row("t-r-sending-email", "email", "", status="sending")
    assert receipts.apply_receipt("sms-a", {"reference": sms.idempotency_key, "status": "delivered"}) == "delivered"
    assert receipts.apply_receipt("sms-a", {"reference": email.idempotency_key, "status": "delivered"}) == "unknown"
    sms.refresh_from_db(), email.refresh_from_db()
    assert sms.delivered_at is not None and email.delivered_at is None


# --- receipts: timestamps and bodies ----------------------------------------------------------------------------
def test_a_fresh_timestamped_signature_passes_and_an_old_a_future_or_a_missing_one_is_refused(gateways, client,
                                                                                              settings) -> None:
    payload = {"reference": "t-r-nothing", "status": "delivered"}
    now = int(time.time())
    assert post(client, "receipts", payload, stamp=str(now)).status_code == 200
    assert post(client, "receipts", payload, stamp=str(now - settings.WEBHOOK_MAX_AGE_SECONDS + 5)).status_code == 200
    for stamp in (str(now - settings.WEBHOOK_MAX_AGE_SECONDS - 1), str(now + 120), "", "abc", "１２３"):
        answer = post(client, "receipts", payload, stamp=stamp)
        assert answer.status_code == 401, stamp
    old = post(client, "receipts", payload, stamp=str(now - 3600))
    assert "trop ancien" in old.json()["detail"]
    # the signature of the body alone (the former scheme) no longer passes
    body = json.dumps(payload).encode()
    import hashlib
    import hmac

    bare = hmac.new(SECRETS["sms-a"].encode(), body, hashlib.sha256).hexdigest()
    assert client.post("/api/v1/messaging/receipts/sms-a", body, content_type="application/json",
                       HTTP_X_PROACTIF_SIGNATURE=bare).status_code == 401
    # a shorter window is honoured
    settings.WEBHOOK_MAX_AGE_SECONDS = 10
    assert post(client, "receipts", payload, stamp=str(now - 30)).status_code == 401


def test_another_providers_secret_or_an_unknown_provider_is_refused(gateways, client) -> None:
    payload = {"reference": "x", "status": "delivered"}
    assert post(client, "receipts", payload, provider="sms-a", secret=SECRETS["sms-b"]).status_code == 401
    assert post(client, "receipts", payload, provider="inconnu", secret="x").status_code == 401


@pytest.mark.parametrize("body", [b"[]", b"[{\"status\": \"delivered\"}]", b"42", b"\"STOP\"", b"not json",
                                  b"[" * 100_000 + b"]" * 100_000])
def test_a_signed_body_that_is_not_one_json_object_is_a_400(gateways, client, body: bytes) -> None:
    stamp = str(int(time.time()))
    for path in ("receipts", "inbound"):
        answer = client.post(f"/api/v1/messaging/{path}/sms-a", body, content_type="application/json",
                             HTTP_X_PROACTIF_TIMESTAMP=stamp, HTTP_X_PROACTIF_SIGNATURE=sign(SECRETS["sms-a"], body,
                                                                                            stamp))
        assert answer.status_code == 400 and "objet JSON" in answer.json()["detail"]


# --- the shipped secrets ----------------------------------------------------------------------------------------
def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh interpreter with `env` (as `proactif serve` would)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PROACTIF_SMS_PROVIDERS", "PROACTIF_DEMO")}
    return subprocess.run([sys.executable, "-c", "import proactif.settings"], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_shipped_receipt_secrets_stop_the_start_outside_a_demo() -> None:
    real = json.dumps([{"name": "operateur-a", "format": "json", "url": "https://sms.operateur-a.example/v1",
                        "token": "t", "secret": "receipt-secret-a"},
                       {"name": "operateur-b", "format": "form", "url": "https://sms.operateur-b.example/v1",
                        "token": "t", "secret": ""}])
    refused = load_settings(PROACTIF_SMS_PROVIDERS=real)
    assert refused.returncode != 0
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: PROACTIF_SMS_PROVIDERS: operateur-a, "
                           "operateur-b still has the shipped or an empty receipt secret outside demo mode")
    # production declared: the shipped sink providers are refused too
    assert load_settings(PROACTIF_DEMO="false").returncode != 0
    # the demo (the shipped sink providers), a forced demo, and real providers with secrets of their own start
    assert load_settings().returncode == 0
    assert load_settings(PROACTIF_SMS_PROVIDERS=real, PROACTIF_DEMO="true").returncode == 0
    own = real.replace('"receipt-secret-a"', '"k3y-of-a"').replace('"secret": ""', '"secret": "k3y-of-b"')
    assert load_settings(PROACTIF_SMS_PROVIDERS=own, PROACTIF_DEMO="false").returncode == 0
    assert "PROACTIF_DEMO must be auto, true or false" in load_settings(PROACTIF_DEMO="oui").stderr


@pytest.mark.django_db
def test_an_sms_the_gateway_delivers_twice_is_one_reply() -> None:
    """A gateway retrying its call (or a replay inside the signature's window) with the message's id: one reply."""
    payload = {"from": "0600104577", "text": "Je passe jeudi", "id": "gw-msg-7"}
    assert receipts.apply_inbound("sms-a", payload) == "reply"
    assert receipts.apply_inbound("sms-a", payload) == "already"
    assert InboundMessage.objects.filter(provider_message_id="gw-msg-7").count() == 1
    assert receipts.apply_inbound("sms-b", payload) == "reply"  # another gateway's ids are its own
