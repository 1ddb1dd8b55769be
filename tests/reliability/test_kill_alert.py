"""kill -9 during an alert: no recipient lost, none messaged twice.

1. The process sending an alert is killed while the messages go out; a restarted sender finishes: every
   recipient's message reaches the sinks once (by idempotency key; a message in flight at the kill is
   submitted again with the same key, which the provider delivers once).
2. The process creating the alert (`proactif alert send`: the recipients frozen, then their messages written
   by chunks) is killed once the recipients are frozen: the job that resumes stalled fan-outs writes the
   missing messages — every recipient gets one.

Runs on SQLite and on PostgreSQL (its own session: it commits)."""

from __future__ import annotations

import json

import pytest
from django.db.models import Count

from proactif.alerts.models import Incident, IncidentRecipient
from proactif.messaging.models import OutboxMessage
from tests.workers import SinkCount, kill9, log_tail, start, wait_for, worker_env

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
RESIDENTS = 3000


def commune() -> None:
    from proactif.geo import services as geo
    from proactif.kernel.install import install
    from proactif.synth import services as synth

    synth.seed(RESIDENTS, 8, reset=True, parallel=False)
    install()
    geo.forget_index()


def whole_commune(tmp_path) -> str:
    from proactif.registry.models import Quartier

    path = tmp_path / "commune.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": q.geometry} for q in Quartier.objects.all()]}))
    return str(path)


def test_kill_9_while_an_alert_goes_out_then_restart_messages_each_recipient_once(sinks, settings, tmp_path,
                                                                                 monkeypatch) -> None:
    from proactif.accounts.domain import system_actor
    from proactif.alerts import services as alerts
    from proactif.messaging import _outbox as outbox
    from proactif.registry.models import Quartier

    settings.ALERT_APPROVAL_THRESHOLD = 0
    commune()
    # the messages are written here; the sender processes below send them (not this process's executor)
    monkeypatch.setattr(outbox, "dispatch", lambda ids: 0)
    monkeypatch.setattr(outbox, "queue_ids", lambda lane, ids, chunk=0: None)
    incident, result = alerts.open_incident(system_actor("police"), alerts.Draft(
        "coupure_eau", "Fuite", [], [], list(Quartier.objects.values_list("id", flat=True)), []),
        {"fr": "Eau coupée jusqu'à 18 h."})
    messages = OutboxMessage.objects.filter(trigger=alerts.trigger(incident.pk))
    assert messages.count() == result["recipients"] > 1000
    count = SinkCount(sinks)
    env = worker_env(tmp_path, sinks)
    first = start(["messages", "send", "--json"], env)
    assert wait_for(lambda: count.keys >= result["recipients"] // 5 or first.poll() is not None), log_tail(env)
    kill9(first)
    at_kill = count.keys
    second = start(["messages", "send", "--json"], env)
    second.wait(240)
    assert second.returncode == 0, log_tail(env)

    statuses = dict(messages.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    delivered = statuses.get("sent", 0)
    assert set(statuses) <= {"sent", "cancelled"} and delivered > 0, statuses
    sent_keys = set(messages.filter(status="sent").values_list("idempotency_key", flat=True))
    assert set(count.submissions) == sent_keys  # every recipient with a channel reached, no one else
    assert count.keys == delivered
    per_person = messages.values("person_id").annotate(n=Count("id")).filter(n__gt=1)
    assert not per_person.exists()  # one message per recipient
    print(f"\nalert to {result['recipients']} residents: kill -9 after {at_kill} at the sinks; after restart "
          f"{count.keys} distinct keys for {delivered} messages sent, {count.duplicates} re-submissions (same key)")


def test_kill_9_while_the_alert_is_written_loses_no_recipient(sinks, settings, tmp_path) -> None:
    from datetime import timedelta

    from proactif.alerts import services as alerts
    from proactif.kernel import clock

    commune()
    area = whole_commune(tmp_path)
    env = worker_env(tmp_path, sinks, PROACTIF_ALERT_APPROVAL_THRESHOLD="0")
    args = ["alert", "send", "--area", area, "--type", "coupure_electricite", "--text", "Coupure.", "--json"]
    killer = start(args, env)
    # killed while it writes: once the recipients are frozen, before every message is written
    assert wait_for(lambda: (Incident.objects.exists() and IncidentRecipient.objects.exists())
                    or killer.poll() is not None, seconds=60), log_tail(env)
    kill9(killer)
    [incident] = Incident.objects.all()  # the freeze is one transaction: the incident, its message, its recipients
    recipients = set(IncidentRecipient.objects.filter(incident=incident).values_list("person_id", flat=True))
    assert incident.status == "active" and len(recipients) > 1000
    written_at_kill = OutboxMessage.objects.filter(trigger=f"alerte:{incident.pk}").count()
    assert written_at_kill <= len(recipients)

    # the periodic job finishes the fan-out of a sender that stopped making progress
    with clock.use(clock.FixedClock(clock.now() + timedelta(minutes=3))):
        resumed = alerts.resume_fan_outs()
    assert resumed["resumed"] == (1 if written_at_kill < len(recipients) else 0) or resumed["written"] == 0
    written = list(OutboxMessage.objects.filter(trigger=f"alerte:{incident.pk}").values_list("person_id", flat=True))
    assert sorted(written) == sorted(recipients)  # every recipient once
    assert alerts.resume_fan_outs(clock.now() + timedelta(minutes=10)) == {"resumed": 0, "written": 0}
    print(f"\nkill -9 while writing the alert: {written_at_kill} of {len(recipients)} messages written; "
          f"resumed: {resumed['written']} more, one message per recipient")
