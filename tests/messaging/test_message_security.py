"""What an outside probe found in messaging, each reproduced: messages read across services, the resident's live
link in stored bodies and in the sinks' inbox, push endpoints on any host, templates reaching Python objects or
running unbounded, shipped template keys refused by the editor."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from proactif.kernel import clock
from proactif.messaging import _templating as templating
from proactif.messaging import services
from proactif.messaging.models import OutboxMessage, SinkMessage, Template
from tests.sinks import reachable_person

pytestmark = pytest.mark.django_db


def police_alert(person_id: int) -> OutboxMessage:
    """A message the police sent a resident, stored as sent: its link kept as a mark."""
    now = clock.now()
    message = OutboxMessage.objects.create(
        idempotency_key="alerte-1-42", person_id=person_id, service="police_municipale", purpose="alertes",
        lane="urgent", policy=["sms"], channel="sms", template_key="alerte.sms", status="sent", not_before=now,
        recipient="+33600104577", body="Coupure d'eau. Êtes-vous en sécurité ? [lien personnel]",
        created_at=now, updated_at=now, sent_at=now)
    SinkMessage.objects.create(channel="sms", provider="sms-a", idempotency_key=message.idempotency_key,
                               recipient=message.recipient, body="Coupure d'eau. https://mairie/l/AbC123",
                               received_at=now)
    return message


def logged_in(agent: object) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_a_message_is_read_by_the_service_that_sent_it_and_the_dpo(agents) -> None:
    message = police_alert(reachable_person(agents, ("sms",)).person_id)
    communication, police, dpo = (logged_in(agents[k]) for k in ("communication", "police", "dpo"))
    assert communication.get(f"/messages/{message.pk}/").status_code == 404
    assert "alerte.sms" not in communication.get("/messages/").content.decode()
    assert police.get(f"/messages/{message.pk}/").status_code == 200
    assert "alerte.sms" in police.get("/messages/").content.decode()
    assert dpo.get(f"/messages/{message.pk}/").status_code == 200


def test_the_sinks_inbox_shows_a_service_its_own_messages_and_the_administrator_all(agents) -> None:
    """The sinks hold what left, live links included: a communication agent must not answer a police alert as
    the resident."""
    message = police_alert(reachable_person(agents, ("sms",)).person_id)
    communication = logged_in(agents["communication"]).get("/messages/boite-de-test/").content.decode()
    assert "/l/AbC123" not in communication
    assert "/l/AbC123" in logged_in(agents["police"]).get("/messages/boite-de-test/").content.decode()
    assert "/l/AbC123" in logged_in(agents["admin"]).get("/messages/boite-de-test/").content.decode()
    from proactif.audit.models import AccessLog

    assert AccessLog.objects.filter(action="view_sink", person_id=message.person_id).exists()


def test_a_stored_message_keeps_the_link_as_a_mark_and_the_resident_gets_the_link(sinks, agents, fixed_clock) -> None:
    from proactif.messaging import _outbox as outbox

    person = reachable_person(agents, ("email",))
    services.save_template("essai.lien", "email", "Prenez rendez-vous : {{ lien }}", subject="Mairie", publish=True)
    link, _ = services.create_link("deadlines.booking", person.person_id)
    keys = outbox.persist([outbox.MessageSpec("t-lien-1", person.person_id, "essai.lien", "rappels_echeances",
                                              "etat_civil", policy=["email"], context={"lien_id": link.pk},
                                              trigger="test")])
    outbox.send_batch(list(OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("id", flat=True)))
    stored = OutboxMessage.objects.get(idempotency_key="t-lien-1")
    # typeset for e-mail (a narrow no-break space before the colon); the link stays a mark
    assert stored.status in ("sent", "delivered") and stored.body == "Prenez rendez-vous\u202f: [lien personnel]"
    sinks.pump()
    received = SinkMessage.objects.get(idempotency_key="t-lien-1")
    assert "/l/" in received.body and services.link_token(link.pk) in received.body


@pytest.mark.parametrize("endpoint", [
    "https://evil.example/push/1", "https://fcm.googleapis.com.evil.example/x", "http://fcm.googleapis.com/x",
    "https://user:pw@fcm.googleapis.com/x", "https://fcm.googleapis.com:8443/x"])
def test_push_subscriptions_go_only_to_the_browsers_push_services(endpoint: str) -> None:
    assert not services.push_endpoint_allowed(endpoint)


def test_the_browsers_push_services_are_accepted() -> None:
    for endpoint in ("https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x",
                     "https://web.push.apple.com/QGx", "https://wns2-par02p.notify.windows.com/w/?token=x"):
        assert services.push_endpoint_allowed(endpoint), endpoint


def test_a_push_subscription_to_another_host_is_refused(client, agents) -> None:
    person = reachable_person(agents, ("email",))
    _, url = services.create_link("deadlines.booking", person.person_id)
    client.get("/l/" + url.rsplit("/", 1)[1])
    forged = {"endpoint": "https://169.254.169.254/latest/meta-data", "keys": {"p256dh": "B" * 87, "auth": "A" * 22}}
    answer = client.post("/notifications/abonnement/", json.dumps(forged), content_type="application/json")
    assert answer.status_code == 400 and "services de notification" in answer.json()["error"]


@pytest.mark.parametrize(("source", "refused"), [
    ("{{ ''.__class__ }}", "« .__class__ »"), ("{{ personne['__class__'] }}", "« ['__class__'] »"),
    ("{{ personne.prenom.format_map(x) }}", "« .format_map() »"), ("{{ lipsum() }}", "« lipsum() »"),
    ("{{ personne.__class__ }}", "personne.__class__")])
def test_templates_reach_only_the_catalogue(source: str, refused: str) -> None:
    with pytest.raises(templating.TemplateError) as error:
        templating.check(source)
    assert refused in error.value.messages[0]


@pytest.mark.parametrize(("source", "reason"), [
    ("{{ 'A' * 3000000 }}", "64 ko"),
    ("{% for a in range(20000) %}{% for b in range(20000) %}{% endfor %}{% endfor %}", "temps permis"),
    ("{% for a in range(100000) %}{% for b in range(100) %}xxxxxxxx{% endfor %}{% endfor %}", "64 ko")])
def test_a_runaway_template_is_refused_when_saved_and_stopped_when_rendered(source: str, reason: str) -> None:
    with pytest.raises(templating.TemplateError, match=reason):
        services.save_template("essai.boucle", "email", source, subject="Essai")
    assert not Template.objects.filter(key="essai.boucle").exists()
    with pytest.raises(templating.MissingData, match=reason):  # a message with it fails, clearly
        templating.render("", source, {})


def test_the_editor_saves_a_shipped_template_whose_key_has_dots(agents) -> None:
    from proactif.accounts import services as accounts
    from proactif.accounts.domain import Role
    from tests.conftest import PASSWORD

    email = "responsable.modeles@test.proactif.fr"
    accounts.create_agent(email, PASSWORD, service="etat_civil", role=Role.RESPONSABLE)
    client = logged_in(accounts.find_agent_by_email(email))
    shipped = Template.objects.filter(key="titre.alerte", channel="sms", status="published").first()
    saved = client.post(f"/messages/modeles/{shipped.pk}/enregistrer/", {
        "key": "titre.alerte", "channel": "sms", "language": "fr", "name": shipped.name,
        "body": shipped.body + " ", "action": "save"})
    assert saved.status_code == 302, saved.content.decode()[:500]
    assert Template.objects.filter(key="titre.alerte", channel="sms", status="draft").exists()
    refused = client.post("/messages/modeles/nouveau/", {"key": "Titre Alerte!", "channel": "sms",
                                                          "language": "fr", "body": "x"})
    assert refused.status_code == 400 and "lettres minuscules" in refused.content.decode()
