"""The engine: claims due instances in batches, steps each one (pure), applies the batch in one transaction.

Claims are leases: a batch of due instances gets a token and a lease in one UPDATE (with SKIP LOCKED on
PostgreSQL, so any number of workers share the work); the lease expires if the worker dies and the
instances are claimed again. Everything a batch produces — the log rows, the outbox messages (keyed by
instance, step and node, so a batch applied twice sends nothing twice), tasks, the new states — is
written in one transaction, then the messages are queued.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from proactif.journeys import contexts, domain
from proactif.journeys.models import AgentTask, JourneyDefinition, JourneyEvent, JourneyInstance
from proactif.kernel import bulkload, clock
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging

log = get_logger(__name__)

LEASE = timedelta(minutes=5)
MESSAGE_CONTEXT = ("document_id", "appointment_id", "request_id")  # ids a journey's messages carry
BATCH = 2000
INBOX_SIZE = 20  # events kept for an instance until a node consumes them
_specs: dict[int, dict[str, Any]] = {}


def spec_of(definition_id: int) -> dict[str, Any]:
    if definition_id not in _specs:
        _specs[definition_id] = JourneyDefinition.objects.values_list("spec", flat=True).get(pk=definition_id)
    return _specs[definition_id]


@dataclass
class Claimed:
    """A claimed instance's state, as the engine needs it (lighter than a model instance)."""

    pk: int
    definition_id: int
    person_id: int
    subject_id: int | None
    node: str
    steps: int
    status: str
    pending_event: str
    waiting_for: list[str]
    context: dict[str, Any]
    inbox: list[str]
    timeout_at: datetime | None
    next_wake_at: datetime | None = None
    outcome: str = ""
    ended_at: datetime | None = None

    @property
    def id(self) -> int:
        return self.pk


CLAIMED = ("id", "definition_id", "person_id", "subject_id", "node", "steps", "status", "pending_event",
           "waiting_for", "context", "inbox", "timeout_at")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _moment(value: Any) -> datetime | None:
    """A timestamp as returned by a raw query (SQLite gives text, naive UTC)."""
    from datetime import UTC

    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def claim(limit: int, now: datetime, ids: list[int] | None = None) -> tuple[str, list[Claimed]]:
    """Lease up to `limit` due instances to this worker in one `UPDATE … RETURNING` (with SKIP LOCKED on
    PostgreSQL: workers never wait for each other). The lease and token columns are not indexed, so the
    claim is a heap-only update."""
    token = uuid.uuid4().hex
    postgres = connection.vendor == "postgresql"
    only = f" AND id IN ({', '.join(['%s'] * len(ids))})" if ids else ""
    adapt = (lambda moment: moment) if postgres else connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE journeys_journeyinstance SET lease_until = %s, claim_token = %s WHERE id IN ("
            f"SELECT id FROM journeys_journeyinstance WHERE status = 'active' AND next_wake_at <= %s "
            f"AND (lease_until IS NULL OR lease_until < %s){only} ORDER BY next_wake_at LIMIT %s"
            f"{' FOR UPDATE SKIP LOCKED' if postgres else ''}) RETURNING {', '.join(CLAIMED)}",
            [adapt(now + LEASE), token, adapt(now), adapt(now), *(ids or []), limit])
        fetched = cursor.fetchall()
    return token, [Claimed(*row[:8], _json(row[8]) or [], _json(row[9]) or {}, _json(row[10]) or [],
                           _moment(row[11])) for row in fetched]


def advance(limit: int = BATCH, now: datetime | None = None, ids: list[int] | None = None) -> dict[str, int]:
    """Advance up to `limit` due instances once. Returns figures."""
    now = now or clock.now()
    token, rows = claim(limit, now, ids)
    if not rows:
        return {"advanced": 0}
    by_definition: dict[int, list[Claimed]] = defaultdict(list)
    for row in rows:
        by_definition[row.definition_id].append(row)
    outcomes: list[tuple[Claimed, dict[str, Any], domain.Outcome]] = []
    for definition_id, instances in by_definition.items():
        spec = spec_of(definition_id)
        data = contexts.load(spec, instances)
        refused = contexts.refused(spec, instances)
        for instance in instances:
            state = domain.InstanceState(instance.pk, instance.person_id, instance.node, instance.status,
                                         instance.steps, instance.pending_event, instance.waiting_for, instance.context,
                                         list(instance.inbox or []), instance.timeout_at)
            outcome = domain.step(spec, state, now, data[instance.pk], contexts.evaluate,
                                  opted_out=instance.person_id in refused, sending_day=messaging.sending_day)
            outcomes.append((instance, spec, outcome))
    created, message_ids = apply(outcomes, token, now)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: messaging.dispatch(message_ids))
    else:
        messaging.dispatch(message_ids)
    statuses = Counter(o.status for _, _, o in outcomes)
    return {"advanced": len(outcomes), "messages": created, **{f"now_{k}": v for k, v in statuses.items()}}


def apply(outcomes: list[tuple[Claimed, dict[str, Any], domain.Outcome]], token: str,
          now: datetime) -> tuple[int, list[int]]:
    windows: dict[str, list[tuple[Claimed, dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    link_requests = []
    for instance, spec, outcome in outcomes:
        for message in outcome.messages:
            window_key = repr(message["window"])
            windows[window_key].append((instance, spec, message))
            if message.get("link"):
                link_requests.append((instance, message))
    sending_times: dict[tuple[str, int], datetime] = {}
    for window_key, items in windows.items():
        window = items[0][2]["window"]
        if window is None:
            continue
        sw = messaging.Window(tuple(window["days"]), datetime.fromisoformat(f"2000-01-01T{window['start']}").time(),
                              datetime.fromisoformat(f"2000-01-01T{window['end']}").time())
        for person_id, moment in messaging.best_send_times([i.person_id for i, _, _ in items], sw, now).items():
            sending_times[(window_key, person_id)] = moment
    with transaction.atomic():
        urls = messaging.create_links([messaging.LinkRequest(
            message["link"], instance.person_id, instance_id=instance.pk, payload={"subject_id": instance.subject_id},
            message_key=f"j{instance.pk}:{message['step']}:{message['node']}") for instance, message in link_requests])
        links = {(instance.pk, message["node"]): url for (instance, message), url in zip(link_requests, urls,
                                                                                         strict=True)}
        return _persist(outcomes, links, sending_times, now)


def _persist(outcomes: list[tuple[Claimed, dict[str, Any], domain.Outcome]],
             links: dict[tuple[int, str], str], sending_times: dict[tuple[str, int], datetime],
             now: datetime) -> tuple[int, list[int]]:
    """Write the batch; returns the number of messages created and the ids of those due now."""
    specs: list[messaging.MessageSpec] = []
    for instance, spec, outcome in outcomes:
        for message in outcome.messages:
            key = f"j{instance.pk}:{message['step']}:{message['node']}"
            context = {k: v for k, v in (instance.context or {}).items() if k in MESSAGE_CONTEXT}
            if (instance.pk, message["node"]) in links:
                context["lien"] = links[(instance.pk, message["node"])]
            specs.append(messaging.MessageSpec(
                key, instance.person_id, message["template"], spec["purpose"], spec["service"],
                lane=message.get("lane") or spec.get("lane", "transactional"), policy=message["channels"],
                context=context, not_before=sending_times.get((repr(message["window"]), instance.person_id)),
                trigger=f"journey:{spec['key']}"[:50], instance_id=instance.pk, step=message["node"]))
    visits: Counter[tuple[int, str]] = Counter()
    events, tasks, updated = [], [], []
    claimed_inbox = {instance.pk: len(instance.inbox or []) for instance, _, _ in outcomes}
    for instance, _spec, outcome in outcomes:
        path = [node for kind, node, _ in outcome.events if kind == "node"]
        for node in path:
            visits[(instance.definition_id, node)] += 1
        detail: dict[str, Any] = {"path": path}
        for kind, node, extra in outcome.events:
            if kind != "node":
                detail.setdefault("facts", []).append({"kind": kind, "node": node, **extra})
        if outcome.messages:
            detail["messages"] = [f"j{instance.pk}:{m['step']}:{m['node']}" for m in outcome.messages]
        events.append({"instance_id": instance.pk, "at": now, "kind": "advance", "node": outcome.node,
                       "detail": detail})
        for task in outcome.tasks:
            tasks.append(AgentTask(instance_id=instance.pk, person_id=instance.person_id, service=task["service"],
                                   title=task["title"][:300], node=task["node"], created_at=now,
                                   due_at=domain.duration(task["due"]).add_to(now)))
        instance.node, instance.status, instance.steps = outcome.node, outcome.status, outcome.steps
        instance.next_wake_at = outcome.next_wake_at if outcome.status == "active" else None
        instance.waiting_for, instance.pending_event = outcome.waiting_for, ""
        instance.inbox = outcome.inbox
        instance.timeout_at = outcome.next_wake_at if outcome.waiting_for else None
        instance.outcome = outcome.outcome
        instance.ended_at = now if outcome.status != "active" else None
        instance.lease_until, instance.claim_token, instance.updated_at = None, "", now
        updated.append(instance)
    with transaction.atomic():  # nested in apply's: links, messages, events and the instances commit together
        keys = messaging.persist_messages(specs)
        due = {spec.key for spec in specs if spec.not_before is None or spec.not_before <= now}
        bulkload.copy_records(JourneyEvent, events)
        AgentTask.objects.bulk_create(tasks)
        _write_states(updated, claimed_inbox, now)
        contexts.count_visits(visits)
    return len(keys), [pk for key, pk in keys.items() if key in due]


def _write_states(rows: list[Claimed], claimed_inbox: dict[int, int], now: datetime) -> None:
    """Write the batch's new states in one statement (PostgreSQL) or one prepared statement (SQLite).

    Events signalled while the batch was being stepped were appended to the rows' inboxes: they are kept
    after what the step left, and the instance is woken again to consider them."""
    if not rows:
        return
    values = [(row.node, row.status, row.steps, row.next_wake_at, json.dumps(row.waiting_for or []), row.timeout_at,
               json.dumps(row.inbox or []), row.outcome, row.ended_at, claimed_inbox.get(row.pk, 0), row.pk)
              for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [list(column) for column in zip(*values, strict=True)]
            cursor.execute(
                "UPDATE journeys_journeyinstance AS i SET node = v.node, status = v.status, steps = v.steps, "
                "next_wake_at = CASE WHEN v.status = 'active' AND jsonb_array_length(i.inbox) > v.claimed "
                "THEN %s ELSE v.next_wake_at END, waiting_for = v.waiting_for::jsonb, timeout_at = v.timeout_at, "
                "inbox = CASE WHEN jsonb_array_length(i.inbox) > v.claimed THEN v.inbox::jsonb || "
                "(SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(i.inbox) WITH ORDINALITY AS t(e, n) "
                "WHERE n > v.claimed) ELSE v.inbox::jsonb END, pending_event = '', outcome = v.outcome, "
                "ended_at = v.ended_at, lease_until = NULL, claim_token = '', updated_at = %s "
                "FROM unnest(%s::text[], %s::text[], %s::int[], %s::timestamptz[], %s::text[], %s::timestamptz[], "
                "%s::text[], %s::text[], %s::timestamptz[], %s::int[], %s::bigint[]) "
                "AS v(node, status, steps, next_wake_at, waiting_for, timeout_at, inbox, outcome, ended_at, claimed, "
                "id) WHERE i.id = v.id", [now, now, *columns])
            return
        # SQLite: one writer at a time, so the events that arrived can be read and merged here
        arrived = {pk: list(inbox or [])[claimed_inbox.get(pk, 0):] for pk, inbox in JourneyInstance.objects.filter(
            pk__in=[row.pk for row in rows]).values_list("id", "inbox")}
        adapt = connection.ops.adapt_datetimefield_value
        merged = []
        for (node, status, steps, wake, waiting, timeout, inbox, outcome, ended, _claimed, pk) in values:
            extra = arrived.get(pk) or []
            if extra:
                inbox = json.dumps([*json.loads(inbox), *extra][-INBOX_SIZE:])
                wake = now if status == "active" else wake
            merged.append((node, status, steps, adapt(wake), waiting, adapt(timeout), inbox, outcome, adapt(ended),
                           adapt(now), pk))
        cursor.executemany(
            "UPDATE journeys_journeyinstance SET node = %s, status = %s, steps = %s, next_wake_at = %s, "
            "waiting_for = %s, timeout_at = %s, inbox = %s, pending_event = '', outcome = %s, ended_at = %s, "
            "lease_until = NULL, claim_token = '', updated_at = %s WHERE id = %s", merged)


def next_due() -> datetime | None:
    return JourneyInstance.objects.filter(status="active").order_by("next_wake_at").values_list(
        "next_wake_at", flat=True).first()


def run_until_idle(now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Advance everything due now (a scheduler tick, a simulation step)."""
    total: Counter[str] = Counter()
    while True:
        figures = advance(limit, now)
        if not figures.get("advanced"):
            break
        total.update(figures)
    return dict(total)
