"""The reach an agent reads before sending is what the send does (issue 16): a preview once said « Sans canal
ouvert : 7 » and 205 messages were then cancelled — it counted every open channel, the letter included, which
an urgent alert does not use. Now the live count asks the send's own rules (`messaging.plan`), and its fast
path over the whole commune's reach profiles gives exactly what asking them resident by resident gives."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.test import Client

from proactif.alerts import _reach as reach
from proactif.alerts import services as alerts
from proactif.geo import services as geo
from proactif.kernel import clock
from proactif.messaging.models import OutboxMessage, PushSubscription, Template
from proactif.registry.models import (
    ChannelPreference,
    Consent,
    ContactPoint,
    OptOut,
    Person,
    Quartier,
)
from tests.alerts.sending import send_everything

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)  # late evening: urgent messages ignore the quiet hours


@pytest.fixture
def now():
    geo.forget_index()
    reach.forget()
    moving = clock.FixedClock(NOW)
    with clock.use(moving):
        yield moving
    reach.forget()


def busiest_quartier() -> Quartier:
    return max(Quartier.objects.all(), key=lambda q: Person.objects.filter(
        household__address__quartier=q, status="active").count())


def vary(quartier: Quartier, push_endpoint: str = "https://push.example/") -> dict[str, int]:
    """Residents of the quartier in every situation the send meets: an opposition to alerts, a STOP on a mobile
    number, a refusal, a number that bounces (their e-mail too), WhatsApp asked first, notifications asked
    first (two browsers, one of them with a push subscription), English."""
    from proactif.messaging._sinks import fake_push_subscription

    residents = geo.residents(geo.Target(quartier_ids=[quartier.pk]))
    with_mobile = list(ContactPoint.objects.filter(person_id__in=residents, kind="phone", is_mobile=True,
                                                   status="active").order_by("person_id").values_list(
        "person_id", "value"))
    (opposed, _), (stopped, number), (refused, _), (bouncing, _), (whatsapp, _), (push, _), (english, _) = \
        with_mobile[:7]
    OptOut.objects.create(person_id=opposed, purpose="alertes", channel="*", source="guichet", created_at=NOW)
    OptOut.objects.create(contact_value=number, purpose="*", channel="sms", source="sms", created_at=NOW)
    Consent.objects.create(person_id=refused, purpose="alertes", channel="*", decision="denied", source="portail",
                           text_version="v1", recorded_at=NOW)
    ContactPoint.objects.filter(person_id=bouncing).update(status="bouncing")
    for person_id, first in ((whatsapp, "whatsapp"), (push, "push")):
        ChannelPreference.objects.filter(person_id=person_id).delete()
        ChannelPreference.objects.create(person_id=person_id, channel=first, rank=1)
        ChannelPreference.objects.create(person_id=person_id, channel="email", rank=2)
    subscription = fake_push_subscription(push_endpoint, "alerte-1")
    PushSubscription.objects.create(person_id=push, endpoint=subscription["endpoint"],
                                    p256dh=subscription["keys"]["p256dh"], auth=subscription["keys"]["auth"],
                                    created_at=NOW)
    Person.objects.filter(pk=english).update(langue="en")
    return {"opposed": opposed, "stopped": stopped, "refused": refused, "bouncing": bouncing, "whatsapp": whatsapp,
            "push": push, "english": english}


def test_the_fast_count_equals_the_send_rules_asked_resident_by_resident(now) -> None:
    quartier = busiest_quartier()
    vary(quartier)
    Template.objects.filter(key="alerte.inondation", channel="email").update(status="archived")  # fails
    address = geo.select_addresses(geo.Target(quartier_ids=[quartier.pk]))[0]
    points = geo.index()
    lon, lat = points.plane.to_lonlat(points.x[points.positions_of([address])],
                                      points.y[points.positions_of([address])])
    circle = {"type": "Feature", "properties": {"radius": 400},
              "geometry": {"type": "Point", "coordinates": [float(lon[0]), float(lat[0])]}}
    targets = [geo.Target(quartier_ids=[q.pk]) for q in Quartier.objects.all()] + [
        geo.Target.of([circle]), geo.Target(voie_ids=[points.voies[0].item()]),
        geo.Target(address_ids=[int(address)]), geo.Target.of([circle], quartier_ids=[quartier.pk])]
    seen: Counter[str] = Counter()
    for type_code in ("coupure_electricite", "travaux", "inondation"):
        for target in targets:
            fast, exact = reach.reach(target, type_code), reach.reach_exact(target, type_code)
            assert fast == exact, (type_code, target)
            assert fast.residents == len(geo.residents(target))
            seen.update(fast.channels)
            seen.update({"cancelled": fast.unreachable, "fell back": sum(fast.fell_back.values())})
    assert {"sms", "email", "whatsapp", "push", "letter", "cancelled", "fell back"} <= {k for k, n in seen.items()
                                                                                         if n}

    # an opposition recorded now is in the next count, without forgetting anything (the table's stamp)
    target = geo.Target(quartier_ids=[quartier.pk])
    before = reach.reach(target, "coupure_electricite")
    texted = ContactPoint.objects.filter(person_id__in=geo.residents(target), kind="phone", is_mobile=True,
                                         status="active").order_by("-person_id").values_list("person_id", flat=True)[0]
    OptOut.objects.create(person_id=texted, purpose="*", channel="*", source="guichet", created_at=NOW)
    after = reach.reach(target, "coupure_electricite")
    assert after.unreachable == before.unreachable + 1 and after == reach.reach_exact(target, "coupure_electricite")


def test_the_preview_of_an_alert_is_what_its_send_does(now, sinks, agents, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 0
    quartier = busiest_quartier()
    people = vary(quartier, sinks.http_url)
    Template.objects.filter(key="alerte.coupure_electricite", channel="push").update(status="archived")
    agent = Client()
    agent.force_login(agents["police"])
    body = {"quartiers": [quartier.pk], "type": "coupure_electricite"}
    preview = agent.post("/alertes/compter/", json.dumps(body), content_type="application/json").json()
    # every resident with a letter address counted as reachable, as the old preview did, would hide these
    assert preview["unreachable"] >= 4 and "letter" not in preview["reachable"]

    sent = agent.post("/alertes/envoyer/", json.dumps({**body, "titre": "Coupure secteur nord",
                                                        "texte": "Courant coupé jusqu'à 23 h."}),
                      content_type="application/json")
    assert sent.status_code == 201, sent.content
    incident_id = sent.json()["incident"]
    send_everything(now)
    messages = OutboxMessage.objects.filter(trigger=alerts.trigger(incident_id))
    assert sent.json()["recipients"] == preview["residents"]
    assert not messages.filter(status="created").exists()
    chains: dict[int, list[OutboxMessage]] = {}
    for message in messages.order_by("id"):  # a message, then its fallbacks
        chains.setdefault(message.person_id, []).append(message)
    assert len(chains) == preview["residents"]
    last = [chain[-1] for chain in chains.values()]
    assert dict(Counter(m.channel for m in last if m.status == "sent")) == preview["reachable"]
    assert dict(Counter(m.error for m in last if m.status == "cancelled")) == preview["reasons"]
    assert sum(m.status == "cancelled" for m in last) == preview["unreachable"]
    assert dict(Counter(m.channel for m in last if m.status == "failed")) == preview["failed"] == {}
    assert dict(Counter(m.channel for chain in chains.values() for m in chain[:-1])) == preview["fell_back"]
    assert preview["fell_back"] == {"push": 1}  # no push template: the e-mail after it
    assert [m.channel for m in chains[people["push"]]] == ["push", "email"]
    assert {chains[people[k]][-1].status for k in ("opposed", "refused", "bouncing")} == {"cancelled"}
    assert chains[people["whatsapp"]][-1].channel == "whatsapp"
    assert chains[people["stopped"]][-1].channel == "email"  # their STOP holds for SMS only
