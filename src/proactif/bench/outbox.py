"""`proactif bench outbox`: messages from the outbox to the providers, against the raw sink throughput.

On a benchmark commune (50,000 residents), with the built-in sinks in their own process (`proactif sinks
--receipts off`, so both measures do the same sink work):

1. **reference** — the raw sink: the same number of SMS posted straight to the HTTP sink and e-mails to the
   SMTP sink, with the adapters' own clients and the same parallelism (8 threads per process, 2 processes),
   no database;
2. **outbox** — one message per reachable resident (their preferred channel: SMS or e-mail), persisted, then
   sent by two `proactif messages send` processes: claims with leases, consent and opposition, channel
   choice, quiet hours and caps, rate limits, rendering, the provider call with the idempotency key, the
   status written back.

The sending rules are those of a large town's configuration (rate limits raised, no quiet hours) so the
benchmark does not depend on the hour it runs at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from proactif.bench.common import Database, free_port, machine, seeded_database, wait_for_port
from proactif.kernel import clock

TARGET_RATE = 2_000  # messages per second
RESIDENTS = 50_000
PROCESSES = 2
RULES = {"PROACTIF_QUIET_HOURS": "00:00-23:59", "PROACTIF_SEND_ON_SUNDAYS": "true",
         "PROACTIF_SEND_ON_HOLIDAYS": "true", "PROACTIF_CAP_PER_DAY": "1000", "PROACTIF_CAP_PER_WEEK": "1000",
         "PROACTIF_RATE_LIMITS": "sms=100000,email=100000,push=100000,letter=100000"}


def sink_env(db: Database, http_port: int, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROACTIF_", "DATABASE_URL"))}
    providers = [{"name": "sms-a", "format": "json", "url": f"http://127.0.0.1:{http_port}/sms/json", "weight": 70,
                  "token": "bench-a", "secret": "bench-secret-a"},
                 {"name": "sms-b", "format": "form", "url": f"http://127.0.0.1:{http_port}/sms/form", "weight": 30,
                  "token": "bench-b", "secret": "bench-secret-b"}]
    env.update(DATABASE_URL=db.url, PROACTIF_HOME=str(db.home), PROACTIF_LOG_LEVEL="WARNING",
               PROACTIF_SINK_HTTP_PORT=str(http_port), PROACTIF_SINK_SMTP_PORT=str(smtp_port),
               PROACTIF_SMTP_HOST="127.0.0.1", PROACTIF_SMTP_PORT=str(smtp_port), PROACTIF_SINKS="false",
               PROACTIF_SMS_PROVIDERS=json.dumps(providers), **RULES)
    return env


def _parallel(args: list[str], env: dict[str, str], count: int) -> list[dict[str, Any]]:
    processes = [subprocess.Popen([sys.executable, "-m", "proactif.cli", *args, "--json"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    out = []
    for process in processes:
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"proactif {' '.join(args)} failed:\n{stderr[-2000:]}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def run(residents: int | None = None, database: str = "postgres") -> dict[str, Any]:
    residents = residents or RESIDENTS
    db = seeded_database(database, f"outbox-{database}", residents, seed=2)
    http_port, smtp_port = free_port(), free_port()
    env = sink_env(db, http_port, smtp_port)
    sink = subprocess.Popen([sys.executable, "-m", "proactif.cli", "sinks", "--receipts", "off"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(http_port)
        wait_for_port(smtp_port)
        campaign = _parallel(["bench-probe", "outbox-campaign"], env, 1)[0]
        per_process = campaign["messages"] // PROCESSES
        raw = _parallel(["bench-probe", "outbox-raw", "--count", str(per_process),
                         "--sms-share", str(campaign["sms_share"])], env, PROCESSES)
        raw_seconds = max(r["ended"] for r in raw) - min(r["started"] for r in raw)
        raw_sent = sum(r["sent"] for r in raw)
        started = clock.real_now().timestamp()
        sent = _parallel(["messages", "send"], env, PROCESSES)
        seconds = clock.real_now().timestamp() - started
        outcome = _parallel(["bench-probe", "outbox-check"], env, 1)[0]
    finally:
        sink.terminate()
        sink.wait(10)
    rate = outcome["sent"] / seconds if seconds else 0
    raw_rate = raw_sent / raw_seconds if raw_seconds else 0
    return {"benchmark": "outbox", "database": db.label, "residents": residents, "processes": PROCESSES,
            "messages": campaign["messages"], "by_channel": campaign["by_channel"],
            "outbox": {"seconds": round(seconds, 2), "sent": outcome["sent"], "statuses": outcome["statuses"],
                       "messages_per_second": round(rate), "per_process": sent,
                       "note": "wall time includes each process's start (about 1 s)"},
            "reference": {"method": "the same number of SMS and e-mails posted straight to the sinks, same clients "
                                    "and parallelism, no database", "sent": raw_sent,
                          "seconds": round(raw_seconds, 2), "messages_per_second": round(raw_rate)},
            "ratio_vs_raw_sink": round(rate / raw_rate, 3) if raw_rate else 0,
            "target_messages_per_second": TARGET_RATE, "met": rate >= TARGET_RATE, "machine": machine()}


# --- inside the child processes ---------------------------------------------------------------
def campaign() -> dict[str, Any]:
    """One message per resident reachable by SMS or e-mail, persisted (`bench-probe outbox-campaign`)."""
    from collections import Counter

    from proactif.messaging import _outbox as outbox
    from proactif.messaging import services
    from proactif.messaging.models import OutboxMessage
    from proactif.registry import services as registry
    from proactif.registry.models import Person

    OutboxMessage.objects.all().delete()
    services.save_template("bench.info", "sms", "{{ collectivite.nom }} : réunion publique jeudi 18 h, salle des "
                           "fêtes. Bonjour {{ personne.prenom }} !", publish=True)
    services.save_template("bench.info", "email", "Bonjour {{ personne.civilite }} {{ personne.nom }},\n\nRéunion "
                           "publique jeudi à 18 h, salle des fêtes.\n\n{{ collectivite.nom }}",
                           subject="Réunion publique jeudi", publish=True)
    ids = list(Person.objects.filter(status="active").order_by("id").values_list("id", flat=True))
    chosen: Counter[str] = Counter()
    specs = []
    for start in range(0, len(ids), 5000):
        for person_id, reach in registry.reachable(ids[start:start + 5000], "rappels_echeances").items():
            channel = next((c for c in (*reach.preferences, "sms", "email")
                            if c in ("sms", "email") and c in reach.allowed and reach.addresses.get(c)), None)
            if channel is None:
                continue
            chosen[channel] += 1
            specs.append(outbox.MessageSpec(f"bench:{person_id}", person_id, "bench.info", "rappels_echeances",
                                            "communication", lane="bulk", policy=[channel], trigger="bench"))
    outbox.persist(specs)
    total = sum(chosen.values())
    return {"messages": total, "by_channel": dict(chosen), "sms_share": round(chosen["sms"] / total, 3)}


def raw(count: int, sms_share: float) -> dict[str, Any]:
    """Post `count` messages straight to the sinks with the adapters' clients (`bench-probe outbox-raw`)."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from proactif.messaging import _providers as providers
    from proactif.messaging._channels.base import Outgoing

    sms_count = round(count * sms_share)
    run_id = uuid.uuid4().hex[:8]
    messages = [Outgoing(f"raw:{run_id}:{n}", "sms" if n < sms_count else "email",
                         "+33612345678" if n < sms_count else "habitant@example.org", "Réunion publique",
                         "Réunion publique jeudi 18 h, salle des fêtes.", synthetic=True) for n in range(count)]

    def send(message: Outgoing) -> bool:
        client = providers.client_for(message.channel, message.key, 1)
        return client.send(message).ok

    providers.client_for("sms", "warm", 1)
    providers.smtp()
    started = clock.real_now().timestamp()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, messages))
    return {"started": started, "ended": clock.real_now().timestamp(), "sent": sum(results), "count": count}


def check() -> dict[str, Any]:
    from django.db.models import Count

    from proactif.messaging.models import OutboxMessage

    statuses = dict(OutboxMessage.objects.filter(trigger="bench").values_list("status").annotate(
        n=Count("id")).values_list("status", "n"))
    return {"statuses": statuses, "sent": statuses.get("sent", 0) + statuses.get("delivered", 0)}
