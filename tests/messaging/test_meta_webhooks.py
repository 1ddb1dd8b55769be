"""WhatsApp Cloud API and Messenger webhooks, with the payloads shaped as Meta documents them (the `messages`
webhook of WhatsApp — text messages and statuses —, Messenger's messages, message_deliveries, message_reads and
message_echoes events): the subscription handshake, the app-secret signature, replies, STOP and delivery
statuses fed as SMS feeds them."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from proactif.kernel import clock
from proactif.messaging.models import DeliveryReceipt, InboundMessage, OutboxMessage
from proactif.registry import services as registry
from proactif.registry.models import ContactPoint, OptOut
from tests.conftest import some_person_id

pytestmark = pytest.mark.django_db
APP_SECRET = "meta-app-secret-5e1f"
NUMBER, WA_ID = "+33600104577", "33600104577"
PSID, PAGE_ID = "6543210987654321", "106540352242922"
WAMID = "wamid.HBgLMzM2MDAxMDQ1NzcVAgARGBI0QTRBNjU5OUFFRTAzODEwMTQ0RgA="


@pytest.fixture(autouse=True)
def meta_settings(settings):
    settings.WHATSAPP_APP_SECRET = settings.MESSENGER_APP_SECRET = APP_SECRET
    settings.WHATSAPP_VERIFY_TOKEN, settings.MESSENGER_VERIFY_TOKEN = "jeton-wa", "jeton-fb"


@pytest.fixture
def resident(db) -> int:
    """A resident with the mobile NUMBER (on which they chose WhatsApp) and the Messenger id PSID."""
    person_id = some_person_id(source="synth")
    ContactPoint.objects.create(person_id=person_id, kind="phone", value=NUMBER, is_mobile=True,
                                created_at=clock.now())
    ContactPoint.objects.create(person_id=person_id, kind="messenger", value=PSID, created_at=clock.now())
    return person_id


def post(client, channel: str, payload: object, secret: str = APP_SECRET, body: bytes | None = None):
    body = json.dumps(payload).encode() if body is None else body
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(f"/api/v1/messaging/meta/{channel}", body, content_type="application/json",
                       HTTP_X_HUB_SIGNATURE_256=signature)


def sent(key: str, channel: str, provider: str, provider_id: str, recipient: str, person_id: int | None = None,
         minutes_ago: int = 5) -> OutboxMessage:
    at = clock.now() - timedelta(minutes=minutes_ago)
    return OutboxMessage.objects.create(
        idempotency_key=key, person_id=person_id, service="police_municipale", purpose="alertes", lane="urgent",
        policy=[channel, "sms"], channel=channel, template_key="x", status="sent", not_before=at, recipient=recipient,
        body="Coupure d'eau", provider=provider, provider_message_id=provider_id, created_at=at, updated_at=at,
        sent_at=at)


def whatsapp(value: dict) -> dict:
    """The envelope of WhatsApp's `messages` webhook around `value`."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550783881", "phone_number_id": PAGE_ID}, **value},
        "field": "messages"}]}]}


def message_id(text: str) -> str:
    """Each message its own provider id, as Meta gives them (the same text: the same message, delivered again)."""
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:18]


def whatsapp_text(text: str, wa_id: str = WA_ID) -> dict:
    return whatsapp({"contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": wa_id}],
                     "messages": [{"from": wa_id, "id": f"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz{message_id(text)}",
                                   "timestamp": "1749416383", "type": "text", "text": {"body": text}}]})


def whatsapp_status(status: str, wamid: str = WAMID, recipient: str = WA_ID, **extra: object) -> dict:
    item = {"id": wamid, "status": status, "timestamp": "1750263773", "recipient_id": recipient, **extra}
    if status == "failed":
        item["errors"] = [{"code": 131049, "title": "This message was not delivered to maintain healthy ecosystem "
                                                    "engagement.", "message": "This message was not delivered to "
                                                    "maintain healthy ecosystem engagement.",
                           "error_data": {"details": "In order to maintain a healthy ecosystem engagement, the "
                                                     "message failed to be delivered."},
                           "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
    else:
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}
    return whatsapp({"statuses": [item]})


def messenger(*events: dict) -> dict:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": 1458692752478, "messaging": list(events)}]}


def messenger_text(text: str) -> dict:
    return messenger({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1458692752478,
                      "message": {"mid": f"mid.1457764197618:{message_id(text)}", "text": text,
                                  "quick_reply": {"payload": "DEVELOPER_DEFINED_PAYLOAD"}}})


# --- handshake and signature ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("channel", "token"), [("whatsapp", "jeton-wa"), ("messenger", "jeton-fb")])
def test_the_subscription_handshake_echoes_the_challenge_to_our_token_only(client, settings, channel,
                                                                            token) -> None:
    url = f"/api/v1/messaging/meta/{channel}"
    ok = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444" and ok["Content-Type"].startswith("text/plain")
    assert client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "devine",
                            "hub.challenge": "1158201444"}).status_code == 403
    assert client.get(url, {"hub.verify_token": token, "hub.challenge": "1"}).status_code == 400
    assert client.get(url, {"hub.mode": "subscribe", "hub.verify_token": token,
                            "hub.challenge": "<script>"}).status_code == 400
    setattr(settings, f"{channel.upper()}_VERIFY_TOKEN", None)
    assert client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}).status_code == 403


@pytest.mark.parametrize("channel", ["whatsapp", "messenger"])
def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(client, settings, resident, channel) -> None:
    payload = whatsapp_text("STOP") if channel == "whatsapp" else messenger_text("STOP")
    assert post(client, channel, payload, secret="pas-le-bon").status_code == 401
    body = json.dumps(payload).encode()
    assert client.post(f"/api/v1/messaging/meta/{channel}", body, content_type="application/json").status_code == 401
    setattr(settings, f"{channel.upper()}_APP_SECRET", None)  # not configured: every call refused
    assert post(client, channel, payload).status_code == 401
    assert not InboundMessage.objects.exists() and not OptOut.objects.filter(contact_value__in=[NUMBER, PSID]).exists()


@pytest.mark.parametrize("channel", ["whatsapp", "messenger"])
@pytest.mark.parametrize("body", [b"[]", b"[{\"object\": \"page\"}]", b"\"STOP\"", b"7", b"{",
                                  b"[" * 50_000 + b"]" * 50_000])
def test_a_signed_body_that_is_not_one_object_is_a_400(client, channel, body) -> None:
    answer = post(client, channel, None, body=body)
    assert answer.status_code == 400 and "objet JSON" in answer.json()["detail"]


@pytest.mark.parametrize("channel", ["whatsapp", "messenger"])
@pytest.mark.parametrize("payload", [{}, {"object": "instagram", "entry": []}, {"object": "page"},
                                     {"object": "whatsapp_business_account", "entry": {"id": "1"}},
                                     {"object": "page", "entry": ["x"]}])
def test_an_object_that_is_not_this_channels_webhook_is_a_400(client, channel, payload) -> None:
    assert post(client, channel, payload).status_code == 400


# --- WhatsApp ---------------------------------------------------------------------------------------------------
def test_a_whatsapp_reply_reaches_the_person_and_the_journey_like_an_sms(client, resident, heard) -> None:
    last = sent("t-wa-reply", "whatsapp", "whatsapp-cloud", WAMID, NUMBER, resident)
    answer = post(client, "whatsapp", whatsapp_text("Je suis en sécurité, merci"))
    assert answer.status_code == 200 and answer.json() == {"received": {"reply": 1}}
    reply = InboundMessage.objects.get(channel="whatsapp")
    assert (reply.sender, reply.person_id, reply.message_id, reply.kind, reply.provider) == (
        NUMBER, resident, last.pk, "reply", "whatsapp-cloud")
    assert [(e["person_id"], e["text"]) for e in heard if e["event"] == "reply_received"] == [
        (resident, "Je suis en sécurité, merci")]


@pytest.mark.parametrize("text", ["STOP", "merci de ne plus m'écrire stop", "S\u200bTOP"])
def test_stop_on_whatsapp_opposes_whatsapp_for_that_number(client, resident, text) -> None:
    assert post(client, "whatsapp", whatsapp_text(text)).json() == {"received": {"stop": 1}}
    assert OptOut.objects.filter(contact_value=NUMBER, channel="whatsapp", source="whatsapp_stop").exists()
    assert not registry.may_contact(resident, "alertes", "whatsapp", NUMBER)
    assert registry.may_contact(resident, "alertes", "sms", NUMBER)  # the other channels are untouched


def test_the_marketing_opt_out_button_is_a_stop(client, resident) -> None:
    payload = whatsapp({"messages": [{"context": {"from": "15550783881", "id": WAMID}, "from": WA_ID,
                                      "id": "wamid.button", "timestamp": "1749416383", "type": "button",
                                      "button": {"payload": "Stop promotions", "text": "Stop promotions"}}]})
    assert post(client, "whatsapp", payload).json() == {"received": {"stop": 1}}


def test_a_whatsapp_image_is_acknowledged_and_ignored(client, resident) -> None:
    payload = whatsapp({"messages": [{"from": WA_ID, "id": "wamid.img", "timestamp": "1749416383", "type": "image",
                                      "image": {"mime_type": "image/jpeg", "id": "1003383421387256"}}]})
    assert post(client, "whatsapp", payload).json() == {"received": {"ignored": 1}}


def test_whatsapp_statuses_turn_the_message_with_that_wamid_delivered_or_failed(client, resident) -> None:
    delivered = sent("t-wa-delivered", "whatsapp", "whatsapp-cloud", WAMID, NUMBER, resident)
    assert post(client, "whatsapp", whatsapp_status("sent")).json() == {"received": {"ignored": 1}}
    assert post(client, "whatsapp", whatsapp_status("delivered")).json() == {"received": {"delivered": 1}}
    assert post(client, "whatsapp", whatsapp_status("read")).json() == {"received": {"already": 1}}
    delivered.refresh_from_db()
    assert delivered.status == "delivered" and delivered.delivered_at is not None
    assert list(DeliveryReceipt.objects.filter(message=delivered).values_list("status", flat=True).order_by(
        "id")) == ["sent", "delivered", "read"]
    # read without delivered (WhatsApp skips it when both happen at once), named by the key we echoed
    read = sent("t-wa-read", "whatsapp", "whatsapp-cloud", "wamid.read", NUMBER, resident)
    assert post(client, "whatsapp", whatsapp_status("read", "wamid.read", biz_opaque_callback_data="t-wa-read"
                                                    )).json() == {"received": {"delivered": 1}}
    read.refresh_from_db()
    assert read.status == "delivered"
    failed = sent("t-wa-failed", "whatsapp", "whatsapp-cloud", "wamid.failed", NUMBER, resident)
    assert post(client, "whatsapp", whatsapp_status("failed", "wamid.failed")).json() == {"received": {"failed": 1}}
    failed.refresh_from_db()
    assert (failed.status, failed.failure) == ("failed", "permanent")
    assert DeliveryReceipt.objects.get(message=failed).detail.startswith("131049 This message was not delivered")
    assert OutboxMessage.objects.filter(fallback_of=failed).exists()  # the next channel of its policy: SMS


def test_a_whatsapp_status_never_touches_another_channels_message_or_another_recipients(client, resident) -> None:
    sms = sent("t-wa-sms", "sms", "sms-a", WAMID, NUMBER, resident)  # the same id, but an SMS
    elsewhere = sent("t-wa-other", "whatsapp", "whatsapp-cloud", "wamid.other", "+33611111111")
    assert post(client, "whatsapp", whatsapp_status("failed", biz_opaque_callback_data="t-wa-sms")).json() == {
        "received": {"unknown": 1}}
    assert post(client, "whatsapp", whatsapp_status("failed", "wamid.other")).json() == {"received": {"unknown": 1}}
    sms.refresh_from_db(), elsewhere.refresh_from_db()
    assert sms.status == elsewhere.status == "sent"


# --- Messenger --------------------------------------------------------------------------------------------------
def test_a_messenger_reply_and_a_stop_are_fed_as_sms_ones(client, resident, heard) -> None:
    sent("t-fb-reply", "messenger", "messenger", "m_reply", PSID, resident)
    assert post(client, "messenger", messenger_text("Bien reçu")).json() == {"received": {"reply": 1}}
    assert InboundMessage.objects.get(channel="messenger").person_id == resident
    assert [e["person_id"] for e in heard if e["event"] == "reply_received"] == [resident]
    assert post(client, "messenger", messenger_text("STOP")).json() == {"received": {"stop": 1}}
    assert OptOut.objects.filter(person_id=resident, channel="messenger", source="messenger_stop").exists()
    assert not registry.may_contact(resident, "alertes", "messenger", PSID)
    assert registry.may_contact(resident, "alertes", "whatsapp", NUMBER)


def test_our_own_message_echoed_is_not_a_reply(client, resident) -> None:
    echo = messenger({"sender": {"id": PAGE_ID}, "recipient": {"id": PSID}, "timestamp": 1457764197627,
                      "message": {"is_echo": True, "app_id": 1517776481860111, "metadata": "t-fb-x",
                                  "mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "STOP"}})
    assert post(client, "messenger", echo).json() == {"received": {"ignored": 1}}
    assert not InboundMessage.objects.exists()


def test_messenger_deliveries_and_reads_turn_the_messages_delivered(client, resident) -> None:
    by_mid = sent("t-fb-mid", "messenger", "messenger", "m_delivered", PSID, resident)
    earlier = sent("t-fb-earlier", "messenger", "messenger", "m_earlier", PSID, resident, minutes_ago=30)
    later = sent("t-fb-later", "messenger", "messenger", "m_later", PSID, resident, minutes_ago=-30)
    watermark = int((clock.now() - timedelta(minutes=10)).timestamp() * 1000)
    delivery = messenger({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID},
                          "delivery": {"mids": ["m_delivered"], "watermark": watermark}})
    assert post(client, "messenger", delivery).json() == {"received": {"delivered": 2}}
    for row in (by_mid, earlier, later):
        row.refresh_from_db()
    assert (by_mid.status, earlier.status, later.status) == ("delivered", "delivered", "sent")
    read = messenger({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1458668856463,
                      "read": {"watermark": int((clock.now() + timedelta(hours=1)).timestamp() * 1000)}})
    assert post(client, "messenger", read).json() == {"received": {"delivered": 1}}
    later.refresh_from_db()
    assert later.status == "delivered"


def test_a_messenger_delivery_never_touches_another_persons_or_channels_message(client, resident) -> None:
    other = sent("t-fb-other", "messenger", "messenger", "m_other", "1111111111111111")
    whatsapp_row = sent("t-fb-wa", "whatsapp", "whatsapp-cloud", "m_wa", NUMBER, resident)
    delivery = messenger({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID},
                          "delivery": {"mids": ["m_other", "m_wa"], "watermark": 1458668856253}})
    assert post(client, "messenger", delivery).json() == {"received": {"unknown": 2}}
    other.refresh_from_db(), whatsapp_row.refresh_from_db()
    assert other.status == whatsapp_row.status == "sent"


def test_a_malformed_part_leaves_nothing_half_applied(client, resident) -> None:
    payload = whatsapp_text("STOP")
    payload["entry"].append({"id": "102290129340398", "changes": "pas une liste"})
    answer = post(client, "whatsapp", payload)
    assert answer.status_code == 400 and answer.json()["detail"] == "changes : une liste d'objets est attendue"
    assert not InboundMessage.objects.exists() and not OptOut.objects.filter(contact_value=NUMBER).exists()


@pytest.mark.parametrize("channel", ["whatsapp", "messenger"])
def test_a_message_delivered_twice_or_replayed_is_one_reply(client, resident, heard, channel) -> None:
    """Meta retries a webhook it thinks failed, and a captured one can be posted again (these carry no timestamp):
    the provider's message id makes it one reply, one event."""
    sent("t-once", channel, "whatsapp-cloud" if channel == "whatsapp" else "messenger", WAMID,
         NUMBER if channel == "whatsapp" else PSID, resident)
    payload = whatsapp_text("J'arrive") if channel == "whatsapp" else messenger_text("J'arrive")
    assert post(client, channel, payload).json() == {"received": {"reply": 1}}
    assert post(client, channel, payload).json() == {"received": {"already": 1}}
    assert InboundMessage.objects.filter(channel=channel).count() == 1
    assert len([e for e in heard if e["event"] == "reply_received"]) == 1
