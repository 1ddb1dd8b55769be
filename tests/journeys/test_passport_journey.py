"""The passport / CNI renewal journey end to end, one resident, real sinks: alert → no answer → reminder
with a signed link → booking → documents e-mail the day before → "ready" SMS → collected. Then what an
agent may do (takeover), STOP between two steps, one live instance per person, versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from proactif.accounts import services as accounts
from proactif.accounts.domain import access_for
from proactif.deadlines import services as deadlines
from proactif.journeys import _engine as engine
from proactif.journeys import services
from proactif.journeys.models import JourneyEvent, JourneyInstance
from proactif.kernel import clock
from proactif.messaging import _outbox as outbox
from proactif.messaging.models import Link, OutboxMessage, SinkMessage
from proactif.registry.models import ChannelPreference, Document
from tests.sinks import reachable_person

pytestmark = pytest.mark.django_db
START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Paris


@pytest.fixture
def now():
    moving = clock.FixedClock(START)
    with clock.use(moving):
        yield moving


def passport_holder(agents, channels=("sms", "email"), skip: int = 0) -> tuple[int, Document]:
    """A reachable resident whose passport enters the journey's window today (expiry in six months)."""
    person = reachable_person(agents, channels, skip=skip)
    ChannelPreference.objects.filter(person_id=person.person_id).delete()
    ChannelPreference.objects.bulk_create([ChannelPreference(person_id=person.person_id, channel=c, rank=n)
                                           for n, c in enumerate(channels)])
    Document.objects.filter(person_id=person.person_id).delete()
    document = Document.objects.create(person_id=person.person_id, kind="passeport",
                                       numero=f"26AB{person.person_id:05d}",
                                       issued_on=START.date() - timedelta(days=3650 - 180),
                                       expires_on=START.date() + timedelta(days=182), status="valide",
                                       source="test", external_id=f"test-pass-{person.person_id}",
                                       updated_at=clock.now())
    return person.person_id, document


def run(now) -> None:
    """A scheduler tick: advance the due instances, send the due messages, apply receipts."""
    engine.run_until_idle()
    due = list(OutboxMessage.objects.filter(status="created", not_before__lte=clock.now()).values_list("id",
                                                                                                       flat=True))
    if due:
        outbox.send_batch(due)


def advance_to(now, moment: datetime, sinks) -> None:
    """Move time forward one hour at a time, ticking as the scheduler would."""
    while clock.now() < moment:
        now.advance(min(timedelta(hours=1), moment - clock.now()))
        run(now)
    sinks.pump()


def instance_of(person_id: int) -> JourneyInstance:
    return JourneyInstance.objects.get(person_id=person_id, journey_key="titres-identite")


def sent(person_id: int, template: str) -> OutboxMessage:
    return OutboxMessage.objects.exclude(status__in=("created", "cancelled")).get(person_id=person_id,
                                                                                 template_key=template)


def test_the_whole_renewal_from_alert_to_collection(sinks, agents, now) -> None:
    person_id, passport = passport_holder(agents)
    figures = services.enter_due()
    assert figures["titres-identite"] >= 1
    assert services.enter_due()["titres-identite"] == 0  # once
    run(now)
    instance = instance_of(person_id)
    assert instance.node == "attente_reponse" and instance.waiting_for == ["appointment_booked", "link_clicked"]

    # The alert goes at the person's best time within Monday–Saturday 09:00–19:00
    advance_to(now, START + timedelta(days=1), sinks)
    alert = sent(person_id, "titre.alerte")
    # stored with the link's mark; the resident received the signed link itself
    assert alert.channel in ("sms", "email") and "[lien personnel]" in alert.body and "/l/" not in alert.body
    delivered = SinkMessage.objects.get(idempotency_key=alert.idempotency_key)
    assert "/l/" in delivered.body and "[lien personnel]" not in delivered.body

    # No answer in 15 days: the reminder, with a fresh signed link
    advance_to(now, START + timedelta(days=17), sinks)
    reminder = sent(person_id, "titre.relance")
    instance.refresh_from_db()
    assert instance.node == "attente_rendez_vous"
    link = Link.objects.filter(person_id=person_id, instance_id=instance.pk).latest("created_at")
    assert link.purpose == "deadlines.booking" and reminder.idempotency_key.startswith(f"j{instance.pk}:")

    # The citizen books through the link
    counter = deadlines.ensure_default_counter()
    day = deadlines.available_days(counter, clock.today() + timedelta(days=7))[0][0]
    slot = next(s for s in deadlines.day_slots(counter, day) if s.free)
    appointment = deadlines.book(deadlines.BookingRequest(
        person_id, counter.pk, slot.starts_at, pre_demandes=("AB12CD34EF",), document_id=passport.pk,
        instance_id=instance.pk))
    run(now)
    instance.refresh_from_db()
    assert instance.node == "rendez_vous_pris" and instance.context["appointment_id"] == appointment.pk
    confirmation = sent(person_id, "rdv.confirmation")
    assert confirmation.channel == "email"

    # The day before: the documents to bring, by e-mail, with the calendar file
    advance_to(now, slot.starts_at - timedelta(hours=12), sinks)
    pieces = sent(person_id, "titre.pieces")
    assert pieces.channel == "email" and "Pensez à apporter" in pieces.body and "passeport" in pieces.body.lower()
    assert SinkMessage.objects.filter(idempotency_key=pieces.idempotency_key).count() == 1

    # At the counter, then the title is ready: an SMS to come and collect it
    now.set(slot.starts_at + timedelta(minutes=20))
    [request] = deadlines.mark_done(appointment.pk, "agent")
    now.advance(timedelta(days=10))
    deadlines.mark_ready(request.pk)
    run(now)
    ready = sent(person_id, "titre.pret")
    assert ready.channel == "sms"
    instance.refresh_from_db()
    assert instance.node == "attente_retrait"

    # Collected: the journey ends
    now.advance(timedelta(days=3))
    deadlines.mark_collected(request.pk, numero="27XY12345")
    run(now)
    instance.refresh_from_db()
    assert instance.status == "completed" and instance.outcome in ("titre remis", "titre renouvelé")
    titles = [e.title for e in services.timeline(instance)]
    order = [next(i for i, t in enumerate(titles) if needle in t) for needle in (
        "titre.alerte", "Délai écoulé", "titre.relance", "Rendez-vous pris", "Date prévue", "titre.pieces",
        "Titre prêt", "titre.pret", "Titre remis")]
    assert order == sorted(order), titles
    # Nothing was sent twice
    keys = list(OutboxMessage.objects.filter(person_id=person_id).values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))


def test_stop_between_two_steps_ends_the_journey_and_nothing_more_is_sent(sinks, agents, now) -> None:
    import httpx

    person_id, _ = passport_holder(agents, channels=("sms",), skip=1)
    services.enter_due()
    advance_to(now, START + timedelta(days=1), sinks)
    alert = sent(person_id, "titre.alerte")
    assert alert.channel == "sms"
    httpx.post(f"{sinks.http_url}/sms/inbound", json={"from": alert.recipient, "text": "STOP"})
    sinks.pump()
    advance_to(now, START + timedelta(days=17), sinks)
    instance = instance_of(person_id)
    reminders = OutboxMessage.objects.filter(person_id=person_id, template_key="titre.relance")
    assert not reminders.filter(channel="sms").exclude(status="cancelled").exists()
    assert instance.status in ("exited", "active")
    if instance.status == "exited":
        assert instance.outcome == "opposition"


def test_an_agent_pauses_sends_an_extra_message_resumes_jumps_and_exits(sinks, agents, now) -> None:
    person_id, _ = passport_holder(agents, skip=2)
    services.enter_due()
    run(now)
    instance = instance_of(person_id)
    access = access_for(accounts.actor_for_agent(agents["etat_civil"]))
    with pytest.raises(services.TakeoverError, match="motif"):
        services.pause(access, instance.pk, "  ")
    services.pause(access, instance.pk, "L'habitant a appelé : il est à l'étranger jusqu'en janvier")
    advance_to(now, START + timedelta(days=20), sinks)
    instance.refresh_from_db()
    assert instance.status == "paused" and instance.node == "attente_reponse"
    assert not OutboxMessage.objects.filter(person_id=person_id, template_key="titre.relance").exists()

    message_id = services.send_now(access, instance.pk, "Demande de l'habitant", template="titre.relance",
                                   channels=["email"])
    outbox.send_batch([message_id])
    extra = OutboxMessage.objects.get(pk=message_id)
    assert extra.status == "sent" and extra.trigger == "agent" and extra.instance_id == instance.pk

    services.resume(access, instance.pk, "De retour")
    services.jump(access, instance.pk, "appel", "Préférable d'appeler")
    run(now)
    instance.refresh_from_db()
    assert instance.node == "attente_rendez_vous_final" and instance.tasks.filter(node="appel").exists()
    services.exit_instance(access, instance.pk, "Titre refait dans une autre commune")
    instance.refresh_from_db()
    assert instance.status == "exited"
    actions = [e.detail["action"] for e in JourneyEvent.objects.filter(instance=instance, kind="takeover")]
    assert actions == ["pause", "send", "resume", "jump", "exit"]
    from proactif.audit.models import AccessLog

    assert AccessLog.objects.filter(person_id=person_id, action="journey_takeover").count() == 5
    with pytest.raises(services.TakeoverError):
        services.resume(access, instance.pk, "encore")


def test_another_service_cannot_take_over_an_etat_civil_journey(agents, now) -> None:
    """For the CCAS, the état civil's journey does not exist: not found, rather than a hint that it does."""
    from proactif.journeys.models import JourneyInstance

    person_id, _ = passport_holder(agents, skip=3)
    services.enter_due()
    instance = instance_of(person_id)
    ccas = access_for(accounts.actor_for_agent(agents["ccas"]), "action_sociale")
    with pytest.raises(JourneyInstance.DoesNotExist):
        services.pause(ccas, instance.pk, "curiosité")
    instance.refresh_from_db()
    assert instance.status == "active"


def test_the_database_keeps_one_live_instance_per_person_and_journey(agents, now) -> None:
    person_id, passport = passport_holder(agents, skip=4)
    services.enter_due()
    first = instance_of(person_id)
    assert services.start("titres-identite", person_id, subject_id=passport.pk) is None
    with pytest.raises(IntegrityError), transaction.atomic():
        JourneyInstance.objects.create(definition=first.definition, journey_key=first.journey_key,
                                       person_id=person_id, node="alerte", entered_at=clock.now(),
                                       updated_at=clock.now())


def test_a_new_version_leaves_running_instances_on_theirs_until_migrated(agents, now) -> None:
    person_id, _ = passport_holder(agents, skip=5)
    services.enter_due()
    run(now)
    instance = instance_of(person_id)
    old = instance.definition
    source = old.source.replace("timeout: 15 days", "timeout: 21 days").replace(
        "  attente_reponse:", "  attente_premiere_reponse:").replace(
        "next: attente_reponse", "next: attente_premiere_reponse")
    new = services.save_definition(source, author="responsable@test", publish=True)
    assert new.version == old.version + 1 and new.status == "published"
    old.refresh_from_db()
    assert old.status == "retired"
    instance.refresh_from_db()
    assert instance.definition_id == old.pk  # pinned
    with pytest.raises(services.DefinitionError, match="attente_reponse"):
        services.migrate_instances("titres-identite", new.version, {})
    moved = services.migrate_instances("titres-identite", new.version, {"attente_reponse": "attente_premiere_reponse"})
    instance.refresh_from_db()
    assert moved >= 1 and instance.definition_id == new.pk and instance.node == "attente_premiere_reponse"


def test_the_api_shows_the_timeline_and_takes_over_with_a_reason(client, agents, now) -> None:
    from tests.api.test_api import bearer

    person_id, _ = passport_holder(agents, skip=6)
    services.enter_due()
    run(now)
    instance = instance_of(person_id)
    headers = bearer(scopes=("journeys:read", "journeys:write"))
    listed = client.get("/api/v1/journeys/", **headers).json()
    assert "titres-identite" in [j["key"] for j in listed]
    timeline = client.get(f"/api/v1/journeys/instances/{instance.pk}", **headers).json()
    assert timeline["node"] == "attente_reponse" and timeline["timeline"][0]["title"] == "Entrée dans le parcours"
    refused = client.post(f"/api/v1/journeys/instances/{instance.pk}/takeover",
                          {"action": "pause", "reason": " "}, content_type="application/json", **headers)
    assert refused.status_code == 400 and "motif" in refused.json()["detail"]
    paused = client.post(f"/api/v1/journeys/instances/{instance.pk}/takeover",
                         {"action": "pause", "reason": "Demande de l'habitant par téléphone"},
                         content_type="application/json", **headers)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    sent = client.post(f"/api/v1/journeys/instances/{instance.pk}/takeover",
                       {"action": "send", "reason": "Renvoi du lien", "template": "titre.relance", "channel": "email"},
                       content_type="application/json", **headers)
    assert sent.status_code == 200 and sent.json()["message_id"]
    # every channel messaging declares, WhatsApp included; an unknown one is a 400 naming the field
    whatsapp = client.post(f"/api/v1/journeys/instances/{instance.pk}/takeover",
                           {"action": "send", "reason": "Préfère WhatsApp", "template": "titre.relance",
                            "channel": "whatsapp"}, content_type="application/json", **headers)
    assert whatsapp.status_code == 200
    from proactif.messaging.models import OutboxMessage

    assert OutboxMessage.objects.get(pk=whatsapp.json()["message_id"]).policy == ["whatsapp"]
    pigeon = client.post(f"/api/v1/journeys/instances/{instance.pk}/takeover",
                         {"action": "send", "reason": "x", "template": "titre.relance", "channel": "pigeon"},
                         content_type="application/json", **headers)
    assert pigeon.status_code == 400 and "canal inconnu « pigeon »" in pigeon.json()["detail"]
    read_only = bearer(scopes=("journeys:read",))
    assert client.post(f"/api/v1/journeys/instances/{instance.pk}/takeover", {"action": "resume", "reason": "x"},
                       content_type="application/json", **read_only).status_code == 403
