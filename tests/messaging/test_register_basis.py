"""Messages of a purpose whose basis a capability holds (`veille_sante` and the register of vulnerable people),
through the real send path: they reach the persons the declared basis holds at send time — a person taken off
the register between the message's creation and its send gets nothing — and nobody when no basis is declared."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from proactif.kernel import clock
from proactif.kernel.capabilities import ContactBasis
from proactif.messaging import _outbox as outbox
from proactif.messaging import services
from proactif.messaging.models import OutboxMessage, SinkMessage
from proactif.registry.models import Person
from tests.messaging.declaring import declare

pytestmark = pytest.mark.django_db

PURPOSE = "veille_sante"


@pytest.fixture(autouse=True)
def now(db):
    services.save_template("test-registre", "email", "Bonjour {{ personne.prenom }}, comment allez-vous ?",
                           subject="Veille", publish=True)
    with clock.use(clock.FixedClock(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))) as fixed:
        yield fixed


def residents_with_email(n: int) -> list[int]:
    return list(Person.objects.filter(status="active", contacts__kind="email", contacts__status="active")
                .distinct().order_by("id").values_list("id", flat=True)[:n])


def send(*person_ids: int) -> list[OutboxMessage]:
    keys = outbox.persist([outbox.MessageSpec(f"t-registre-{pid}", pid, "test-registre", PURPOSE, "ccas",
                                              policy=["email"], trigger="test") for pid in person_ids])
    outbox.send_batch(list(keys.values()))
    return [OutboxMessage.objects.get(idempotency_key=f"t-registre-{pid}") for pid in person_ids]


def test_only_the_registered_person_gets_the_message_and_the_register_is_read_at_send_time(sinks, monkeypatch) -> None:
    registered, other, removed = residents_with_email(3)
    on_register = {registered, removed}
    declare(monkeypatch, contact_bases=(ContactBasis(PURPOSE, "Registre", lambda ids: on_register & set(ids)),))
    keys = outbox.persist([outbox.MessageSpec(f"t-registre-{removed}", removed, "test-registre", PURPOSE, "ccas",
                                              policy=["email"], trigger="test")])
    on_register.discard(removed)  # taken off the register after the message was created
    outbox.send_batch(list(keys.values()))
    sent, refused = send(registered, other)
    assert sent.status == "sent" and refused.status == "cancelled"
    assert OutboxMessage.objects.get(idempotency_key=f"t-registre-{removed}").status == "cancelled"
    sinks.pump()
    assert list(SinkMessage.objects.filter(idempotency_key__startswith="t-registre-").values_list(
        "idempotency_key", flat=True)) == [f"t-registre-{registered}"]


def test_without_a_declared_basis_no_message_of_the_purpose_leaves(sinks, monkeypatch) -> None:
    declare(monkeypatch, withdrawn=[PURPOSE])
    rows = send(*residents_with_email(2))
    assert {row.status for row in rows} == {"cancelled"}
    assert all(row.error.startswith("opposition ou consentement absent") for row in rows)
