"""The referent acknowledges a critical alert by the signed link of their message: the link opens a page that shows
the person's first name and initial, the finding and what to do, and one button; pressing it acknowledges the alert
as the referent (in the alert and the access log) and stops the escalation as the desk does. A replay says the
alert is taken in charge; a forged, altered, expired or foreign link opens nothing; the page offers nothing else."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.test import Client

from proactif.audit.models import AccessLog
from proactif.journeys import _engine as engine
from proactif.journeys.models import JourneyInstance
from proactif.kernel import clock
from proactif.messaging import _outbox as outbox
from proactif.messaging.models import OutboxMessage, SinkMessage
from proactif.registry import services as registry
from proactif.watch import _referent as referent
from proactif.watch import domain
from proactif.watch.models import Alert, Contact, Registration
from tests.watch.test_alerts import oximeter, spo2
from tests.watch.test_escalation import registered_with_contacts

pytestmark = pytest.mark.django_db
NIGHT = datetime(2026, 7, 14, 1, 0, tzinfo=UTC)  # 03:00 in Paris: the urgent lane ignores quiet hours


@pytest.fixture
def moving():
    fixed = clock.FixedClock(NIGHT)
    with clock.use(fixed):
        yield fixed


def text(response) -> str:
    page = html.unescape(response.content.decode())
    return page.replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ")


def critical_alert() -> Alert:
    person_id = registered_with_contacts()
    spo2(oximeter(person_id), [84] * 4, start=clock.now() - timedelta(minutes=20))
    return Alert.objects.get(person_id=person_id)


def referent_of(alert: Alert) -> Contact:
    return Contact.objects.get(registration__person_id=alert.person_id, role="referent")


def path_for(alert: Alert, contact: Contact | None = None) -> str:
    contact = contact or referent_of(alert)
    url = referent.url_for(alert.pk, contact.pk, domain.contact_channel(contact.telephone, contact.email)[1])
    return url[url.index("/veille/"):]


def form_token(page) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    return found.group(1) if found else ""


def test_the_referents_message_carries_their_link_which_acknowledges_and_stops_the_escalation(moving,
                                                                                               sinks) -> None:
    alert = critical_alert()
    engine.run_until_idle(clock.now())
    message = OutboxMessage.objects.get(instance_id=alert.escalation_id, step="referent")
    assert message.context[referent.CONTEXT_KEY] == f"{alert.pk}.{referent_of(alert).pk}"
    outbox.send_batch([message.pk])
    sinks.pump()
    body = SinkMessage.objects.get(recipient__endswith="611223344").body
    found = re.search(r"https?://\S+(/veille/referent/[^/\s]+/)", body)
    assert found, body
    path = found.group(1)

    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    shown = text(page)
    resident = registry.residents([alert.person_id])[alert.person_id]
    name = domain.first_name_initial(resident.prenoms, resident.nom)
    assert page.status_code == 200 and f"Alerte pour {name}" in shown and alert.message in shown
    assert "J'ai pris connaissance / je m'en occupe" in shown and "appelez le 15" in shown
    assert resident.nom.upper() not in shown.upper().replace(name.upper(), "")  # the initial, not the name
    assert resident.address.split(",")[0] not in shown
    for elsewhere in ("seuil", "/veille/personnes/", "/veille/pupitre/", "Saturation en oxygène (moyenne"):
        assert elsewhere not in shown, elsewhere
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    viewed = AccessLog.objects.get(person_id=alert.person_id, action="view", actor_kind="referent")
    assert (viewed.purpose, viewed.section) == ("prevention_sante", "veille")

    assert client.post(path).status_code == 403  # no CSRF token: refused, nothing acknowledged
    assert Alert.objects.get(pk=alert.pk).status == "ouverte"
    csrf = form_token(page)
    done = client.post(path, {"csrfmiddlewaretoken": csrf})
    assert done.status_code == 200 and "la mairie sait que vous vous en occupez" in text(done).lower()
    alert.refresh_from_db()
    assert alert.status == "acquittee" and alert.acknowledged_by == "Aide à domicile (référent, lien signé)"
    logged = AccessLog.objects.get(person_id=alert.person_id, action="acknowledge")
    assert (logged.actor_kind, logged.actor_id, logged.purpose, logged.section) == (
        "referent", referent_of(alert).pk, "prevention_sante", "veille")
    assert "Aide à domicile" in logged.actor_label

    engine.run_until_idle(clock.now())
    assert JourneyInstance.objects.get(pk=alert.escalation_id).node == "fin_acquittee"
    moving.set(clock.now() + timedelta(minutes=30))
    engine.run_until_idle(clock.now())
    assert not OutboxMessage.objects.filter(instance_id=alert.escalation_id, step="astreinte").exists()

    replay = client.get(path)  # the link again, after the acknowledgement: said, not done twice
    assert replay.status_code == 200 and "Vous avez indiqué vous en occuper" in text(replay)
    assert "J'ai pris connaissance" not in text(replay)
    again = client.post(path, {"csrfmiddlewaretoken": csrf})  # the button pressed twice
    assert again.status_code == 200 and "déjà prise en charge" in text(again)
    assert AccessLog.objects.filter(person_id=alert.person_id, action="acknowledge").count() == 1


def test_only_the_referent_gets_a_link(moving, settings) -> None:
    settings.WATCH_DESK_PHONE = "+33699887766"
    alert = critical_alert()
    for minutes in (0, 11, 16):
        moving.set(clock.now() + timedelta(minutes=minutes))
        engine.run_until_idle(clock.now())
    contexts = dict(OutboxMessage.objects.filter(instance_id=alert.escalation_id).values_list("step", "context"))
    assert referent.CONTEXT_KEY in contexts["referent"]
    assert referent.CONTEXT_KEY not in contexts["astreinte"] and referent.CONTEXT_KEY not in contexts["proche"]


def test_someone_else_took_it_in_charge_the_link_says_so_and_does_nothing(moving, agents) -> None:
    from proactif.accounts.domain import system_actor
    from proactif.watch import _alerts as alerts

    alert = critical_alert()
    path = path_for(alert)
    alerts.acknowledge(system_actor("pupitre"), alert.pk, "j'appelle")
    client = Client()
    response = client.post(path)
    assert response.status_code == 200 and "Quelqu'un s'en occupe depuis" in text(response)
    assert Alert.objects.get(pk=alert.pk).acknowledged_by == "tâche pupitre"
    alerts.resolve(system_actor("pupitre"), alert.pk, "fausse alerte")
    assert "Alerte close" in text(client.get(path))


def test_forged_altered_expired_and_foreign_links_open_nothing(moving) -> None:
    first, second = critical_alert(), critical_alert()
    client = Client()
    good = path_for(first)
    token = good.split("/")[-2]
    cases = {
        "/veille/referent/abc/": 400,
        good.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")): 400,  # signature altered
        good.replace(token, signing.b62_encode(second.pk) + token[len(signing.b62_encode(first.pk)):]): 400,
        good.replace(token, signing.TimestampSigner(salt="proactif.citizen-link").sign(token.split(":")[0])): 400,
        path_for(second, referent_of(first)): 410,  # the referent of A with alert B: not theirs
        "/veille/referent/" + referent.token_for(2**63 + 5, referent_of(first).pk, "+33611223344") + "/": 410,
        "/veille/referent/" + referent.token_for(first.pk, 10**18, "+33611223344") + "/": 410,
    }
    for path, status in cases.items():
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code == status, (method, path, response.status_code)
            assert "Ce lien" in text(response) and "Alerte pour" not in text(response)
    assert Alert.objects.filter(pk__in=[first.pk, second.pk], status="ouverte").count() == 2
    assert not AccessLog.objects.filter(actor_kind="referent").exists()

    moving.set(clock.now() + referent.VALIDITY + timedelta(minutes=1))
    expired = client.post(good)
    assert expired.status_code == 410 and "a expiré" in text(expired)
    moving.set(NIGHT)
    assert client.get(good).status_code == 200


def test_a_link_dies_with_the_referents_number_or_the_registration(moving) -> None:
    alert = critical_alert()
    path = path_for(alert)
    contact = referent_of(alert)
    Contact.objects.filter(pk=contact.pk).update(telephone="+33622334455")  # the referent changed since
    assert Client().get(path).status_code == 410
    assert Client().get(path_for(alert)).status_code == 200  # the link sent to the new number opens
    Registration.objects.filter(person_id=alert.person_id).update(status="radiee")
    assert Client().post(path_for(alert)).status_code == 410
    assert Alert.objects.get(pk=alert.pk).status == "ouverte"


def test_a_referent_removed_after_the_message_was_queued_still_gets_the_alert_without_a_link(moving,
                                                                                            sinks) -> None:
    alert = critical_alert()
    engine.run_until_idle(clock.now())
    message = OutboxMessage.objects.get(instance_id=alert.escalation_id, step="referent")
    Contact.objects.filter(pk=referent_of(alert).pk).delete()
    outbox.send_batch([message.pk])
    sinks.pump()
    body = SinkMessage.objects.get(recipient__endswith="611223344").body
    assert "SpO2 à 84 %" in body and "/veille/referent/" not in body and "prévenez la mairie" in body
