"""A journey's send node addressed to recipients a capability declares (`to: <code>`) instead of the instance's
person — a registered person's emergency contact: the definition names a declared code and carries no signed
link; the engine makes one message per (channel, address) the node's channels allow, with no person, keyed by
instance, step, node and rank, the instance's message context and the recipient's; no recipient is a fact of the
instance's log and the journey goes on; the messages go through the sinks and show on the instance's page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from proactif.journeys import _engine as engine
from proactif.journeys import domain, services
from proactif.journeys.models import JourneyInstance
from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import Recipients
from proactif.messaging import _outbox as outbox
from proactif.messaging import services as messaging
from proactif.messaging.models import OutboxMessage, SinkMessage
from proactif.registry.models import Person
from tests.conftest import fr
from tests.messaging.declaring import declare

pytestmark = pytest.mark.django_db

CODE = "essai.proche"
JOURNEY = """
key: essai-proche
name: Essai — prévenir le proche
service: ccas
purpose: veille_sante
entry: {type: event, event: link_clicked}
start: prevenir
nodes:
  prevenir: {type: send, label: Message au proche, to: essai.proche, template: essai.proche, channels: [sms],
             next: fin}
  fin: {type: end, outcome: prevenu}
"""
CONTACTS: dict[int, list[tuple[str, str, dict]]] = {}  # person id → what the declaration gives for their instance


def load(instances: list) -> dict[int, list[tuple[str, str, dict]]]:
    return {i.pk: CONTACTS[i.person_id] for i in instances if i.person_id in CONTACTS}


@pytest.fixture
def declared(monkeypatch, db):
    declare(monkeypatch, recipients=(Recipients(CODE, "Personne à prévenir (essai)", load),))
    messaging.save_template("essai.proche", "sms", "{{ collectivite.nom }} : {{ texte }}", publish=True)
    messaging.save_template("essai.proche", "email", "{{ texte }}", subject="Votre proche", publish=True)
    services.save_definition(JOURNEY, author="test", publish=True)
    CONTACTS.clear()
    with clock.use(clock.FixedClock(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))):
        yield


def compile_definition(source: str, known: tuple[str, ...] = (CODE,)) -> dict:
    return domain.compile_definition(source, known_events=tuple(capabilities.events()),
                                     known_channels=tuple(capabilities.channels(sent=True)), known_recipients=known)


def residents(n: int) -> list[int]:
    return list(Person.objects.filter(status="active").order_by("id").values_list("id", flat=True)[:n])


# --- the definition ---------------------------------------------------------------------------------------------
def test_to_names_a_declared_code_and_carries_no_link() -> None:
    assert compile_definition(JOURNEY)["nodes"]["prevenir"]["to"] == CODE
    with pytest.raises(domain.DefinitionError, match=r"destinataires inconnus « essai\.voisin » \(essai\.proche\)"):
        compile_definition(JOURNEY.replace("to: essai.proche", "to: essai.voisin"))
    with pytest.raises(domain.DefinitionError, match="aucun n'est déclaré"):
        compile_definition(JOURNEY, known=())
    linked = JOURNEY.replace("channels: [sms],", "channels: [sms], link: deadlines.booking,")
    with pytest.raises(domain.DefinitionError, match=r"pas de lien \(link\) dans un message à « essai\.proche »"):
        compile_definition(linked)


def test_saving_a_definition_checks_to_against_the_declarations(declared) -> None:
    with pytest.raises(domain.DefinitionError, match=r"destinataires inconnus « essai\.voisin »"):
        services.save_definition(JOURNEY.replace("to: essai.proche", "to: essai.voisin"))


# --- the engine -------------------------------------------------------------------------------------------------
def test_the_engine_writes_to_each_declared_recipient_and_they_are_sent(declared, sinks, agents) -> None:
    person, unreachable, invalid = residents(3)
    CONTACTS[person] = [("sms", "06 12 34 56 78", {"texte": "votre voisine ne répond pas", "inscription_id": 5,
                                                   "synthetic": True}),
                        ("email", "proche@example.org", {"texte": "par courriel"}),  # not a channel the node sends on
                        ("sms", "+33698765432", {"texte": "second contact", "inscription_id": 5})]
    CONTACTS[invalid] = [("sms", "12", {})]
    instances = {pid: services.start("essai-proche", pid, subject_id=pid) for pid in (person, unreachable, invalid)}
    engine.run_until_idle()
    rows = list(OutboxMessage.objects.filter(instance_id=instances[person].pk).order_by("idempotency_key"))
    step = rows[0].idempotency_key.split(":")[1]
    assert [(r.idempotency_key, r.person_id, r.recipient, r.policy) for r in rows] == [
        (f"j{instances[person].pk}:{step}:prevenir:0", None, "+33612345678", ["sms"]),
        (f"j{instances[person].pk}:{step}:prevenir:1", None, "+33698765432", ["sms"])]
    assert rows[0].context == {"texte": "votre voisine ne répond pas", "inscription_id": 5, "synthetic": True}
    assert (rows[0].trigger, rows[0].step, rows[0].purpose, rows[0].service) == (
        "journey:essai-proche", "prevenir", "veille_sante", "ccas")
    for pid in (person, unreachable, invalid):
        assert JourneyInstance.objects.get(pk=instances[pid].pk).status == "completed"  # it goes on
    assert not OutboxMessage.objects.filter(instance_id__in=[instances[unreachable].pk, instances[invalid].pk])
    outbox.send_batch([r.pk for r in rows])
    sinks.pump()
    assert sorted(SinkMessage.objects.filter(idempotency_key__in=[r.idempotency_key for r in rows])
                  .values_list("recipient", flat=True)) == ["+33612345678", "+33698765432"]

    client = Client()
    client.force_login(agents["ccas"])
    page = client.get(f"/parcours/suivi/{instances[person].pk}/")
    assert page.status_code == 200 and "Message sms à un contact — essai.proche" in page.content.decode()
    none = client.get(f"/parcours/suivi/{instances[unreachable].pk}/").content.decode()
    assert fr("Message non envoyé : aucun destinataire « Personne à prévenir (essai) »") in none
    bad = client.get(f"/parcours/suivi/{instances[invalid].pk}/").content.decode()
    assert fr("Erreur : coordonnée inutilisable de « Personne à prévenir (essai) » (sms)") in bad and "12<" not in bad


def test_a_batch_redone_writes_nothing_twice(declared) -> None:
    [person] = residents(1)
    CONTACTS[person] = [("sms", "0612345678", {})]
    instance = services.start("essai-proche", person, subject_id=person)
    outcome = domain.step(services.definition_by_key("essai-proche").spec,
                          domain.InstanceState(instance.pk, person, "prevenir", "active", 0, "", [], {}),
                          clock.now(), {}, lambda *_: False)
    claimed = engine.claim(10, clock.now(), [instance.pk])
    spec = engine.spec_of(claimed[0].definition_id)
    assert engine.apply([(claimed[0], spec, outcome)], clock.now())[0] == 1
    again = domain.step(spec, domain.InstanceState(instance.pk, person, "prevenir", "active", 0, "", [], {}),
                        clock.now(), {}, lambda *_: False)
    engine.apply([(claimed[0], spec, again)], clock.now())
    assert OutboxMessage.objects.filter(instance_id=instance.pk).count() == 1
