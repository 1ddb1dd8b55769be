"""WhatsApp Cloud API and Messenger Send API: the requests follow Meta's published message formats (the
documented examples' fields and types), the answers and errors are read as Meta gives them (throttling is
temporary, a bad parameter permanent), and an alert reaches a resident who asked for WhatsApp through the
built-in sink."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from proactif.messaging._channels.base import Outgoing
from proactif.messaging._channels.http import HttpClient
from proactif.messaging._channels.meta import MessengerClient, WhatsAppClient
from tests.sinks import fault

MESSAGE = Outgoing("alerte:1:1:42", "whatsapp", "+33612345678", "", "Coupure d'électricité rue X.")


def test_whatsapp_text_and_template_messages_have_the_cloud_api_shape() -> None:
    text = WhatsAppClient("http://x/messages", "t", HttpClient(1)).payload(MESSAGE)
    assert text == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "33612345678",
                    "biz_opaque_callback_data": "alerte:1:1:42", "type": "text",
                    "text": {"preview_url": False, "body": "Coupure d'électricité rue X."}}
    template = WhatsAppClient("http://x/messages", "t", HttpClient(1), template="alerte_commune:fr").payload(MESSAGE)
    assert template["type"] == "template" and "text" not in template
    assert template["template"] == {"name": "alerte_commune", "language": {"code": "fr"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Coupure d'électricité rue X."}]}]}


def test_messenger_messages_have_the_send_api_shape() -> None:
    message = Outgoing("alerte:1:1:42", "messenger", "6543210987654321", "", "x" * 2500)
    update = MessengerClient("http://x/messages", "t", HttpClient(1)).payload(message)
    assert update == {"recipient": {"id": "6543210987654321"}, "messaging_type": "UPDATE",
                      "message": {"text": "x" * 2000, "metadata": "alerte:1:1:42"}}
    tagged = MessengerClient("http://x/messages", "t", HttpClient(1), tag="ACCOUNT_UPDATE").payload(message)
    assert tagged["messaging_type"] == "MESSAGE_TAG" and tagged["tag"] == "ACCOUNT_UPDATE"


@pytest.mark.django_db
def test_the_sink_answers_like_meta_and_errors_sort_into_temporary_and_permanent(sinks) -> None:
    whatsapp = WhatsAppClient(f"{sinks.http_url}/meta/whatsapp/messages", "token", HttpClient(2), is_sink=True)
    messenger = MessengerClient(f"{sinks.http_url}/meta/messenger/messages", "token", HttpClient(2), is_sink=True)
    ok = whatsapp.send(MESSAGE)
    assert ok.ok and ok.provider_id.startswith("wamid.")
    assert messenger.send(Outgoing("k2", "messenger", "6543210987654321", "", "Bonjour")).provider_id.startswith("m_")
    fault(sinks, "whatsapp", status=429)
    throttled = whatsapp.send(MESSAGE)
    assert not throttled.ok and throttled.failure == "temporary" and "130429" in throttled.error
    bad = whatsapp.send(Outgoing("k3", "whatsapp", "not-a-number", "", "x"))
    assert not bad.ok and bad.failure == "permanent" and "code 100" in bad.error
    unauthorised = WhatsAppClient(f"{sinks.http_url}/meta/whatsapp/messages", "", HttpClient(2)).http
    answer = unauthorised.post(f"{sinks.http_url}/meta/whatsapp/messages", b"{}", {"Content-Type": "application/json"})
    assert answer.status == 401 and json.loads(answer.body)["error"]["code"] == 190
    sinks.pump()
    from proactif.messaging.models import SinkMessage
    assert SinkMessage.objects.filter(channel="whatsapp", recipient="33612345678").count() == 1
    assert SinkMessage.objects.filter(channel="messenger", body="Bonjour").count() == 1


@pytest.mark.django_db
def test_an_alert_reaches_a_resident_who_prefers_whatsapp_and_one_on_messenger(sinks, settings) -> None:
    from proactif.accounts.domain import system_actor
    from proactif.alerts import services as alerts
    from proactif.geo import services as geo
    from proactif.kernel import clock
    from proactif.messaging import _outbox as outbox
    from proactif.messaging.models import OutboxMessage, SinkMessage
    from proactif.registry.models import Address, ChannelPreference, ContactPoint, Person

    settings.ALERT_APPROVAL_THRESHOLD = 0
    geo.forget_index()
    mobile = ContactPoint.objects.filter(kind="phone", is_mobile=True, status="active",
                                         person__household__address__lon__isnull=False,
                                         person__status="active").order_by("id").first()
    person = mobile.person
    ChannelPreference.objects.filter(person=person).delete()
    ChannelPreference.objects.create(person=person, channel="whatsapp", rank=0)
    other = Person.objects.filter(status="active", household__address__lon__isnull=False).exclude(
        pk=person.pk).order_by("id").first()
    ContactPoint.objects.create(person=other, kind="messenger", value="6543210987654321", created_at=clock.now())
    ChannelPreference.objects.filter(person=other).delete()
    ChannelPreference.objects.create(person=other, channel="messenger", rank=0)
    addresses = [person.household.address_id, other.household.address_id]
    now = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    with clock.use(clock.FixedClock(now)) as moving:
        incident, _ = alerts.open_incident(system_actor("police"), alerts.Draft(
            "coupure_eau", "Fuite", [], [], [], addresses), {"fr": "Eau coupée cette nuit."})
        for _ in range(5):
            due = list(OutboxMessage.objects.filter(status="created", not_before__lte=clock.now()).values_list(
                "id", flat=True))
            if due:
                outbox.send_batch(due)
            moving.advance(timedelta(seconds=1))
    sinks.pump()
    assert Address.objects.filter(pk__in=addresses).count() == 2
    assert OutboxMessage.objects.get(trigger=alerts.trigger(incident.pk), person_id=person.pk).channel == "whatsapp"
    assert OutboxMessage.objects.get(trigger=alerts.trigger(incident.pk), person_id=other.pk).channel == "messenger"
    received = SinkMessage.objects.get(channel="whatsapp", recipient=mobile.value.lstrip("+"))
    assert "Eau coupée cette nuit." in received.body and "/l/" in received.body
    assert SinkMessage.objects.filter(channel="messenger", recipient="6543210987654321").exists()
