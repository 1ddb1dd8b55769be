"""An engine batch holds its instances until it commits: an event signalled from another connection meanwhile
(the resident opens the link while the scheduler steps their instance) waits for the commit, then lands in the
new state and wakes the instance — nothing is lost or overwritten. Runs on SQLite and on PostgreSQL (its own
session: it commits)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from proactif.journeys import _engine as engine
from proactif.journeys import services
from proactif.journeys.models import JourneyInstance
from proactif.kernel import clock

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def passport_journey_waiting_for_an_answer() -> JourneyInstance:
    """A fresh small commune, one resident's passport entering the renewal journey, alerted and now waiting."""
    from proactif.kernel.install import install
    from proactif.registry.models import Document, Person
    from proactif.synth import services as synth

    synth.seed(300, 5, reset=True, parallel=False)
    install()
    person_id = Person.objects.filter(status="active").order_by("id").values_list("id", flat=True).first()
    Document.objects.create(person_id=person_id, kind="passeport", numero="26LK00001",
                            issued_on=clock.now().date() - timedelta(days=3650 - 150),
                            expires_on=clock.now().date() + timedelta(days=150), status="valide", source="test",
                            external_id="test-lock-1", updated_at=clock.now())
    services.enter_due()
    instance = JourneyInstance.objects.get(person_id=person_id, journey_key="titres-identite")
    engine.advance(ids=[instance.pk])
    instance.refresh_from_db()
    assert instance.node == "attente_reponse", instance.node
    return instance


def test_an_event_signalled_while_a_batch_holds_the_instance_waits_for_its_commit(monkeypatch) -> None:
    instance = passport_journey_waiting_for_an_answer()
    JourneyInstance.objects.filter(pk=instance.pk).update(next_wake_at=clock.now())  # woken early (a resume…)
    signalled: dict[str, object] = {}

    def click() -> None:
        started = time.monotonic()
        try:
            signalled["woken"] = services.signal("link_clicked", instance.person_id)
        finally:
            signalled["waited"] = time.monotonic() - started
            connection.close()

    other = threading.Thread(target=click)
    original = engine.apply

    def step_while_the_resident_clicks(outcomes, at):  # type: ignore[no-untyped-def]
        other.start()
        time.sleep(0.6)
        assert other.is_alive(), "the signal did not wait for the batch holding the instance"
        return original(outcomes, at)

    monkeypatch.setattr(engine, "apply", step_while_the_resident_clicks)
    figures = engine.advance(ids=[instance.pk])
    monkeypatch.undo()
    other.join(30)
    assert figures["advanced"] == 1
    assert signalled["woken"] == 1 and float(signalled["waited"]) >= 0.5  # type: ignore[arg-type]
    instance.refresh_from_db()
    assert instance.inbox == ["link_clicked"] and instance.pending_event == "link_clicked"
    assert instance.next_wake_at is not None and instance.next_wake_at <= clock.now()
    engine.run_until_idle()
    instance.refresh_from_db()
    assert instance.node == "attente_rendez_vous" and instance.inbox == []
