"""A resident who opened their link subscribes this browser to notifications; messages then reach it by
Web Push (encrypted for the subscription, read back by the sink)."""

from __future__ import annotations

import json

import pytest

from proactif.messaging import _outbox as outbox
from proactif.messaging import services
from proactif.messaging.models import PushSubscription, SinkMessage
from tests.sinks import reachable_person

pytestmark = pytest.mark.django_db


def test_a_citizen_subscribes_from_the_portal_and_receives_a_push(client, sinks, agents, fixed_clock) -> None:
    from proactif.messaging._sinks import fake_push_subscription

    person = reachable_person(agents, ("email",))
    assert client.post("/notifications/abonnement/", "{}", content_type="application/json").status_code == 403
    _, url = services.create_link("deadlines.booking", person.person_id)
    client.get("/l/" + url.rsplit("/", 1)[1])
    key = client.get("/notifications/cle/").json()["publicKey"]
    assert len(key) == 87  # an uncompressed P-256 point, base64url
    worker = client.get("/notifications/sw.js")
    assert worker.status_code == 200 and b"showNotification" in worker.content
    assert client.post("/notifications/abonnement/", "not json", content_type="application/json").status_code == 400
    subscription = fake_push_subscription(sinks.http_url, "portail-1")
    forged = {**subscription, "endpoint": "http://evil.example/push/1"}
    assert client.post("/notifications/abonnement/", json.dumps(forged), content_type="application/json"
                       ).status_code == 400
    created = client.post("/notifications/abonnement/", json.dumps(subscription), content_type="application/json")
    assert created.status_code == 201
    assert PushSubscription.objects.get(endpoint=subscription["endpoint"]).person_id == person.person_id

    services.save_template("test-push", "push", "Votre titre est prêt", subject="Mairie", publish=True)
    keys = outbox.persist([outbox.MessageSpec("t-portal-push", person.person_id, "test-push", "rappels_echeances",
                                              "etat_civil", policy=["push"], trigger="test")])
    outbox.send_batch(list(keys.values()))
    sinks.pump()
    received = SinkMessage.objects.get(idempotency_key="t-portal-push")
    assert (received.channel, received.subject, received.body) == ("push", "Mairie", "Votre titre est prêt")


def test_the_portal_offers_notifications_with_a_nonced_script(client, agents, fixed_clock) -> None:
    from datetime import timedelta

    from proactif.deadlines import services as deadlines
    from proactif.kernel import clock

    person = reachable_person(agents, ("email",), skip=2)
    _, url = services.create_link("deadlines.booking", person.person_id)
    client.get("/l/" + url.rsplit("/", 1)[1])
    counter = deadlines.ensure_default_counter()
    day = deadlines.available_days(counter, clock.today() + timedelta(days=2))[0][0]
    slot = deadlines.day_slots(counter, day)[0]
    deadlines.book(deadlines.BookingRequest(person.person_id, counter.pk, slot.starts_at))
    page = client.get("/demarches/titres/").content.decode()
    assert 'id="activer-notifications"' in page and "messaging/notifications" in page and 'nonce="' in page
