"""`proactif bench alert`: a 100,000-recipient alert while a 500,000-message bulk campaign is being sent.

On a 300,000-resident commune (PostgreSQL), with Celery on RabbitMQ as in production: one worker process on
the `bulk` queue sending the campaign, one on the `urgent` queue, the built-in sinks in their own process.

1. **campaign** — 500,000 bulk messages persisted and queued; the bulk worker sends them (in flight during
   the whole measure);
2. **alert** — `proactif alert send` on quartiers holding at least 100,000 residents, as an agent would send
   it: the recipients frozen, then their messages written by chunks of 5,000 and queued on the urgent lane
   chunk by chunk. Measured: **queued** — from the start of the send to every message written and queued
   (`queued_seconds`, in the sending process); **first at the sink** — from the start of the send to the first
   of its messages received by a sink. Repeated `RUNS` times (each a new incident on the same area); after a
   run is measured, its messages not yet sent are cancelled and the urgent queue purged so that the next alert
   does not queue behind it — except the first run, which is delivered in full (its delivery time and rate
   are reported);
3. **reference** — the bulk campaign's own rate over the same time: what the urgent lane competes with.

RabbitMQ must run (`PROACTIF_BENCH_BROKER_URL`, default the local one); the queues get a prefix of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from proactif.bench.common import free_port, machine, seeded_database, wait_for_port
from proactif.bench.outbox import sink_env
from proactif.kernel.config import env_str

RESIDENTS = 300_000
ALERT_RECIPIENTS = 100_000
BULK = 500_000
RUNS = 5
TARGET_QUEUED_S = 10.0
TARGET_FIRST_S = 5.0


def run(residents: int | None = None, database: str = "postgres") -> dict[str, Any]:
    residents = residents or RESIDENTS
    db = seeded_database(database, f"alert-{database}", residents, seed=3)
    http_port, smtp_port = free_port(), free_port()
    env = sink_env(db, http_port, smtp_port)
    env.update(PROACTIF_BROKER_URL=env_str("PROACTIF_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//",
                                           "RabbitMQ broker of `bench alert`."),
               PROACTIF_QUEUE_PREFIX=f"bench-{os.getpid()}-", PROACTIF_ALERT_APPROVAL_THRESHOLD="0")
    processes: list[subprocess.Popen[str]] = []

    def spawn(*args: str) -> subprocess.Popen[str]:
        log = (db.home / "bench-alert.log").open("a")
        process = subprocess.Popen([sys.executable, "-m", "proactif.cli", *args], env=env, stdout=subprocess.DEVNULL,
                                   stderr=log, text=True)
        processes.append(process)
        return process

    try:
        spawn("sinks", "--receipts", "off")
        wait_for_port(http_port)
        wait_for_port(smtp_port)
        setup = _probe(["bench-probe", "alert-setup", "--count", str(BULK)], env)
        spawn("worker", "--queues", "bulk", "--concurrency", "1", "--hostname", "bulk@bench")
        spawn("worker", "--queues", "urgent", "--concurrency", "1", "--hostname", "urgent@bench")
        _probe(["bench-probe", "alert-wait", "--count", "5000"], env)  # the campaign is flowing
        runs = []
        for number in range(RUNS):
            sent = _probe(["alert", "send", "--area", setup["area"], "--type", "coupure_electricite", "--text",
                           "Coupure d'électricité dans votre quartier, retour prévu à 18 h.",
                           "--title", f"bench {number}"], env)
            measured = _probe(["bench-probe", "alert-measure", "--count", str(sent["incident"]),
                               *(["--deliver-all"] if number == 0 else [])], env)
            runs.append({"recipients": sent["recipients"], "queued_seconds": sent["queued_seconds"],
                         **measured})
        bulk = _probe(["bench-probe", "alert-bulk"], env)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    queued = np.array([r["queued_seconds"] for r in runs])
    first = np.array([r["first_at_sink_seconds"] for r in runs])
    figures = {"queued_seconds": _spread(queued), "first_at_sink_seconds": _spread(first)}
    return {"benchmark": "alert", "database": db.label, "residents": residents, "bulk_campaign": setup["bulk"],
            "area_residents": setup["residents"], "runs": runs, **figures,
            "first_run_delivery": {k: runs[0].get(k) for k in ("delivered", "delivery_seconds",
                                                               "urgent_messages_per_second")},
            "bulk_during_alerts": bulk,
            "targets": {"queued_seconds": TARGET_QUEUED_S, "first_at_sink_p95_seconds": TARGET_FIRST_S,
                        "recipients": ALERT_RECIPIENTS, "bulk_in_flight": BULK},
            "met": bool(figures["queued_seconds"]["max"] <= TARGET_QUEUED_S
                        and figures["first_at_sink_seconds"]["p95"] <= TARGET_FIRST_S
                        and min(r["recipients"] for r in runs) >= ALERT_RECIPIENTS
                        and bulk["in_flight_at_end"] > 0),
            "machine": machine()}


def _spread(values: np.ndarray) -> dict[str, float]:
    return {"p50": round(float(np.median(values)), 2), "p95": round(float(np.percentile(values, 95)), 2),
            "max": round(float(values.max()), 2)}


def _probe(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "proactif.cli", *args, "--json"], env=env, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"proactif {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- inside the child processes ---------------------------------------------------------------
def setup(bulk: int) -> dict[str, Any]:
    """A clean slate, the bulk campaign persisted and queued, and an area of ≥ 100,000 residents."""
    from django.db import connection

    from proactif.geo import services as geo
    from proactif.messaging import _outbox as outbox
    from proactif.messaging import services
    from proactif.registry.models import Person, Quartier

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE alerts_incidentrecipient, alerts_incidentmessage, alerts_incident, "
                       "messaging_sinkmessage, messaging_link, messaging_outboxmessage CASCADE")
    services.save_template("bench.info", "sms", "{{ collectivite.nom }} : réunion publique jeudi 18 h. Bonjour "
                           "{{ personne.prenom }} !", publish=True)
    services.save_template("bench.info", "email", "Bonjour {{ personne.civilite }} {{ personne.nom }},\n\nRéunion "
                           "publique jeudi à 18 h.\n\n{{ collectivite.nom }}", subject="Réunion publique",
                           publish=True)
    people = list(Person.objects.filter(status="active").order_by("id").values_list("id", flat=True))
    for start in range(0, bulk, 50_000):
        outbox.persist(outbox.MessageSpec(f"bench-bulk:{n}", people[n % len(people)], "bench.info",
                                          "rappels_echeances", "communication", lane="bulk",
                                          policy=["sms", "email"], trigger="bench-bulk")
                       for n in range(start, min(bulk, start + 50_000)))
    from proactif.messaging.models import OutboxMessage

    outbox.dispatch(OutboxMessage.objects.filter(trigger="bench-bulk").values_list("id", flat=True))
    geo.forget_index()
    chosen: list[int] = []
    residents = 0
    for quartier in Quartier.objects.order_by("id"):
        chosen.append(quartier.pk)
        residents = len(geo.residents(geo.Target(quartier_ids=chosen)))
        if residents >= ALERT_RECIPIENTS:
            break
    from django.conf import settings

    area = Path(settings.HOME) / "bench-alert-area.geojson"
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": q.geometry}
        for q in Quartier.objects.filter(pk__in=chosen)]}), encoding="utf-8")
    return {"bulk": bulk, "area": str(area), "quartiers": len(chosen), "residents": residents}


def wait_sent(count: int, seconds: float = 300) -> dict[str, Any]:
    from proactif.messaging.models import OutboxMessage

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent = OutboxMessage.objects.filter(trigger="bench-bulk", status="sent").count()
        if sent >= count:
            return {"bulk_sent": sent}
        time.sleep(0.5)
    raise RuntimeError(f"the bulk campaign did not start: fewer than {count} sent in {seconds} s")


def measure(incident_id: int, deliver_all: bool) -> dict[str, Any]:
    """First message of the incident at a sink (from the send's start: its message's `sent_at`); for the first
    run, the whole delivery; then the rest of the alert cancelled so the next run starts on an empty lane."""
    from proactif.alerts.models import IncidentMessage
    from proactif.messaging.models import OutboxMessage, SinkMessage

    message = IncidentMessage.objects.get(incident_id=incident_id, seq=1)
    prefix = f"alerte:{incident_id}:1:"
    deadline = time.monotonic() + 120
    first = None
    while first is None and time.monotonic() < deadline:
        first = SinkMessage.objects.filter(idempotency_key__startswith=prefix).order_by(
            "received_at").values_list("received_at", flat=True).first()
        if first is None:
            time.sleep(0.05)
    if first is None:
        raise RuntimeError(f"no message of incident {incident_id} reached a sink in 120 s")
    out: dict[str, Any] = {"first_at_sink_seconds": round((first - message.sent_at).total_seconds(), 3)}
    rows = OutboxMessage.objects.filter(trigger=f"alerte:{incident_id}")
    if deliver_all:
        deadline = time.monotonic() + 1200
        while rows.filter(status__in=("created", "sending")).exists() and time.monotonic() < deadline:
            time.sleep(1)
        last = SinkMessage.objects.filter(idempotency_key__startswith=prefix).order_by(
            "-received_at").values_list("received_at", flat=True).first()
        delivered = SinkMessage.objects.filter(idempotency_key__startswith=prefix).count()
        seconds = (last - message.sent_at).total_seconds() if last else 0.0
        out.update(delivered=delivered, delivery_seconds=round(seconds, 1),
                   urgent_messages_per_second=round(delivered / seconds) if seconds else 0)
    else:
        out["cancelled_after_measure"] = rows.filter(status="created").update(status="cancelled",
                                                                              error="bench: mesure faite")
        _purge_urgent_queue()
    return out


def _purge_urgent_queue() -> None:
    """The tasks of the cancelled messages leave the urgent queue too: the next run starts on an empty lane."""
    from proactif.kernel.celery_app import get_app, queue_name

    with get_app().connection_for_write() as conn:
        conn.default_channel.queue_purge(queue_name("urgent"))


def bulk_figures() -> dict[str, Any]:
    from django.db.models import Max, Min

    from proactif.messaging.models import OutboxMessage

    rows = OutboxMessage.objects.filter(trigger="bench-bulk")
    sent = rows.filter(status="sent")
    span = sent.aggregate(a=Min("sent_at"), b=Max("sent_at"))
    seconds = (span["b"] - span["a"]).total_seconds() if span["a"] else 0.0
    count = sent.count()
    return {"sent": count, "in_flight_at_end": rows.filter(status__in=("created", "sending")).count(),
            "seconds": round(seconds, 1), "messages_per_second": round(count / seconds) if seconds else 0}

