"""The engine: claims due instances in batches, steps each one (pure), applies the batch in one transaction.

A batch is one transaction: the due instances are selected and locked (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so any number of workers share the work without waiting for each other; SQLite has one writer
at a time), stepped in memory, and everything the batch produces — the log rows, the outbox messages (keyed
by instance, step and node, so a batch redone sends nothing twice), links, tasks, the new states — is
written before it commits. No provider is called inside it: the messages are queued after the commit. A
worker killed mid-batch loses its connection, its transaction rolls back and the instances are due again
at once (no lease to wait for); a takeover or an event for a locked instance waits for the commit and
applies to the new state.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from proactif.journeys import _contexts as contexts
from proactif.journeys import domain
from proactif.journeys.models import AgentTask, JourneyDefinition, JourneyEvent, JourneyInstance
from proactif.kernel import bulkload, capabilities, clock
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging

log = get_logger(__name__)

# ids a journey's messages carry: the document, the appointment, the title request, an outreach…
# What of an instance's context its messages carry: the documents' and the appointments' ids, and the id every
# capability's message data loads by (`MessageData.id_key`: an outreach, a heatwave check-in…)
MESSAGE_CONTEXT = ("document_id", "appointment_id", "request_id")


def message_context_keys() -> frozenset[str]:
    return frozenset(MESSAGE_CONTEXT) | {m.id_key for m in capabilities.message_data()}
BATCH = 5000  # instances per batch (one transaction): larger batches spread each batch's fixed costs
GROUP_SIZE = 50  # instances moving the same way get their writes from one set-based statement
INBOX_SIZE = 20  # events kept for an instance until a node consumes them
_specs: dict[int, dict[str, Any]] = {}


def spec_of(definition_id: int) -> dict[str, Any]:
    if definition_id not in _specs:
        _specs[definition_id] = JourneyDefinition.objects.values_list("spec", flat=True).get(pk=definition_id)
    return _specs[definition_id]


@dataclass(slots=True)
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
    stepped: int = 0  # steps taken by this advance

    @property
    def id(self) -> int:
        return self.pk


CLAIMED = ("id", "definition_id", "person_id", "subject_id", "node", "steps", "status", "pending_event",
           "waiting_for", "context", "inbox", "timeout_at")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


_lists: dict[str, list[str]] = {}  # the few distinct inboxes and awaited-event lists, parsed once


def _json_list(value: Any) -> list[str]:
    if not isinstance(value, str):
        return list(value or [])
    parsed = _lists.get(value)
    if parsed is None:
        parsed = json.loads(value) or []
        if len(_lists) < 10_000:
            _lists[value] = parsed
    return list(parsed)


def _moment(value: Any) -> datetime | None:
    """A timestamp as returned by a raw query (SQLite gives text, naive UTC)."""
    from datetime import UTC

    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def claim(limit: int, now: datetime, ids: list[int] | None = None) -> list[Claimed]:
    """Take up to `limit` due instances for the surrounding transaction: `SELECT … FOR UPDATE SKIP LOCKED` on
    PostgreSQL (workers never wait for each other, and a worker that dies releases its rows with its
    connection); SQLite's immediate transactions already make this worker the only writer. Nothing is
    written to claim: the batch's one UPDATE writes the new states."""
    postgres = connection.vendor == "postgresql"
    only = f" AND id IN ({', '.join(['%s'] * len(ids))})" if ids else ""
    adapt = (lambda moment: moment) if postgres else connection.ops.adapt_datetimefield_value
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    with connection.cursor() as cursor:
        if postgres:
            # Walk the due index in order and stop at `limit`, whatever the statistics say: right after a mass
            # entry or wake-up they still count few due rows, and a bitmap scan would sort them all each batch
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            f"SELECT {', '.join(CLAIMED)} FROM journeys_journeyinstance WHERE status = 'active' "
            f"AND next_wake_at <= %s{only} ORDER BY next_wake_at LIMIT %s{lock}",
            [adapt(now), *(ids or []), limit])
        fetched = cursor.fetchall()
        if postgres:
            cursor.execute("SET LOCAL enable_bitmapscan = on")
    return [Claimed(*row[:8], _json_list(row[8]), _json(row[9]) or {}, _json_list(row[10]), _moment(row[11]))
            for row in fetched]


def advance(limit: int = BATCH, now: datetime | None = None, ids: list[int] | None = None) -> dict[str, int]:
    """Advance up to `limit` due instances once, in one transaction (no provider is called in it: the
    messages are queued once it has committed). Returns figures."""
    now = now or clock.now()
    with transaction.atomic():
        rows = claim(limit, now, ids)
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
            sending_day = messaging.sending_days(spec["purpose"])  # its purpose's declared sending rules, if any
            for instance in instances:
                state = domain.InstanceState(instance.pk, instance.person_id, instance.node, instance.status,
                                             instance.steps, instance.pending_event, instance.waiting_for,
                                             instance.context, list(instance.inbox or []), instance.timeout_at)
                outcome = domain.step(spec, state, now, data[instance.pk], contexts.evaluate,
                                      opted_out=instance.person_id in refused, sending_day=sending_day,
                                      tz=clock.local_tz())
                outcomes.append((instance, spec, outcome))
        created, message_ids = apply(outcomes, now)
        transaction.on_commit(lambda: messaging.dispatch(message_ids))
    statuses = Counter(o.status for _, _, o in outcomes)
    return {"advanced": len(outcomes), "messages": created, **{f"now_{k}": v for k, v in statuses.items()}}


def apply(outcomes: list[tuple[Claimed, dict[str, Any], domain.Outcome]],
          now: datetime) -> tuple[int, list[int]]:
    # A send node's window is one object of its (cached) definition: its id keys the batch's sending times
    windows: dict[int, tuple[dict[str, Any], list[int]]] = {}
    link_requests = []
    for instance, _spec, outcome in outcomes:
        for message in outcome.messages:
            window = message["window"]
            if window is not None:
                windows.setdefault(id(window), (window, []))[1].append(instance.person_id)
            if message.get("link"):
                link_requests.append((instance, message))
    sending_times: dict[tuple[int, int], datetime] = {}
    for window_key, (window, people) in windows.items():
        sw = messaging.Window(tuple(window["days"]), datetime.fromisoformat(f"2000-01-01T{window['start']}").time(),
                              datetime.fromisoformat(f"2000-01-01T{window['end']}").time())
        for person_id, moment in messaging.best_send_times(people, sw, now).items():
            sending_times[(window_key, person_id)] = moment
    link_ids = messaging.create_links([messaging.LinkRequest(
        message["link"], instance.person_id, instance_id=instance.pk, payload={"subject_id": instance.subject_id},
        message_key=f"j{instance.pk}:{message['step']}:{message['node']}") for instance, message in link_requests])
    links = {(instance.pk, message["node"]): pk for (instance, message), pk in zip(link_requests, link_ids,
                                                                                   strict=True)}
    return _persist(outcomes, links, sending_times, _addressed(outcomes), now)


Addressed = dict[str, dict[int, list[tuple[str, str, dict[str, Any]]]]]  # code → instance → recipients


def _addressed(outcomes: list[tuple[Claimed, dict[str, Any], domain.Outcome]]) -> Addressed:
    """The recipients declared under each code a send node of the batch names in `to:`, loaded once per code for
    the instances that need them (a code nobody declares any more: no one)."""
    wanted: dict[str, dict[int, Claimed]] = defaultdict(dict)
    for instance, _spec, outcome in outcomes:
        for message in outcome.messages:
            if message.get("to"):
                wanted[message["to"]][instance.pk] = instance
    out: Addressed = {}
    for code, instances in wanted.items():
        declared = capabilities.recipients(code)
        out[code] = declared.load(list(instances.values())) if declared is not None else {}
    return out


def _to_recipients(instance: Claimed, spec: dict[str, Any], outcome: domain.Outcome, message: dict[str, Any],
                   context: dict[str, Any], found: list[tuple[str, str, dict[str, Any]]],
                   not_before: datetime | None) -> list[messaging.MessageSpec]:
    """A send node's message to the recipients declared under its `to:` code, instead of the instance's person:
    one message per (channel, address) the node's channels allow, with no person, on that channel only. None
    found, or none usable, is a fact of the instance's log; the journey goes on."""
    code, node = message["to"], message["node"]
    declared = capabilities.recipients(code)
    label = declared.label if declared is not None else code
    channels = message["channels"]
    anywhere = any(c in ("preferred", "any") for c in channels)
    specs = []
    for channel, address, extra in found:
        if not anywhere and channel not in channels:
            continue
        try:
            address = messaging.direct_address([channel], address)
        except ValueError:  # the value is not written in the log: someone else's contact data
            outcome.events.append(("error", node, {"error": f"coordonnée inutilisable de « {label} » ({channel})"}))
            continue
        specs.append(messaging.MessageSpec(
            f"j{instance.pk}:{message['step']}:{node}:{len(specs)}", None, message["template"], spec["purpose"],
            spec["service"], lane=message.get("lane") or spec.get("lane", "transactional"), policy=[channel],
            context={**context, **extra}, not_before=not_before, trigger=f"journey:{spec['key']}"[:50],
            instance_id=instance.pk, step=node, address=address))
    if not specs:
        outcome.events.append(("no_recipient", node, {"to": code, "label": label}))
    return specs


def _persist(outcomes: list[tuple[Claimed, dict[str, Any], domain.Outcome]],
             links: dict[tuple[int, str], int], sending_times: dict[tuple[int, int], datetime],
             addressed: Addressed, now: datetime) -> tuple[int, list[int]]:
    """Write the batch; returns the number of messages created and the ids of those due now."""
    specs: list[messaging.MessageSpec] = []
    keys = message_context_keys()
    for instance, spec, outcome in outcomes:
        for message in outcome.messages:
            key = f"j{instance.pk}:{message['step']}:{message['node']}"
            context = {k: v for k, v in (instance.context or {}).items() if k in keys}
            not_before = sending_times.get((id(message["window"]), instance.person_id))
            if message.get("to"):
                specs += _to_recipients(instance, spec, outcome, message, context,
                                        addressed[message["to"]].get(instance.pk, []), not_before)
                continue
            if (instance.pk, message["node"]) in links:
                context["lien_id"] = links[(instance.pk, message["node"])]
            specs.append(messaging.MessageSpec(
                key, instance.person_id, message["template"], spec["purpose"], spec["service"],
                lane=message.get("lane") or spec.get("lane", "transactional"), policy=message["channels"],
                context=context, not_before=not_before,
                trigger=f"journey:{spec['key']}"[:50], instance_id=instance.pk, step=message["node"]))
    visits: Counter[tuple[int, str]] = Counter()
    events: dict[tuple[str, str], tuple[dict[str, Any], list[int]]] = {}  # one log row per instance, by content
    tasks, updated = [], []
    for instance, _spec, outcome in outcomes:
        shape = (outcome.node, repr(outcome.events))
        if shape not in events:
            detail: dict[str, Any] = {"path": [node for kind, node, _ in outcome.events if kind == "node"]}
            for kind, node, extra in outcome.events:
                if kind != "node":
                    detail.setdefault("facts", []).append({"kind": kind, "node": node, **extra})
            events[shape] = (detail, [])
        events[shape][1].append(instance.pk)
        for node in events[shape][0]["path"]:
            visits[(instance.definition_id, node)] += 1
        for task in outcome.tasks:
            tasks.append(AgentTask(instance_id=instance.pk, person_id=instance.person_id, service=task["service"],
                                   title=task["title"][:300], node=task["node"], created_at=now,
                                   due_at=domain.duration(task["due"]).add_to(now, clock.local_tz())))
        instance.stepped = outcome.steps - instance.steps
        instance.node, instance.status, instance.steps = outcome.node, outcome.status, outcome.steps
        instance.next_wake_at = outcome.next_wake_at if outcome.status == "active" else None
        instance.waiting_for, instance.pending_event = outcome.waiting_for, ""
        instance.inbox = outcome.inbox
        instance.timeout_at = outcome.next_wake_at if outcome.waiting_for else None
        instance.outcome = outcome.outcome
        instance.ended_at = now if outcome.status != "active" else None
        updated.append(instance)
    # Inside advance's transaction: links, messages, log rows, tasks and states commit together
    keys = messaging.persist_messages(specs)
    due = {spec.key for spec in specs if spec.not_before is None or spec.not_before <= now}
    _write_events(events, now)
    AgentTask.objects.bulk_create(tasks)
    _write_states(updated, now)
    contexts.count_visits(visits)
    return len(keys), [pk for key, pk in keys.items() if key in due]


def _write_events(events: dict[tuple[str, str], tuple[dict[str, Any], list[int]]], now: datetime) -> None:
    """The batch's log rows ("advance": the path taken and what happened on it), one per instance; on
    PostgreSQL the instances that went the same way get theirs from one `INSERT … SELECT`."""
    single = []
    with connection.cursor() as cursor:
        for (node, _), (detail, ids) in events.items():
            if connection.vendor == "postgresql" and len(ids) >= GROUP_SIZE:
                cursor.execute("INSERT INTO journeys_journeyevent (instance_id, at, kind, node, detail, actor) "
                               "SELECT id, %s, 'advance', %s, %s::jsonb, '' FROM unnest(%s::bigint[]) AS id",
                               [now, node, json.dumps(detail), bulkload.int_array(ids)])
            else:
                single += [{"instance_id": pk, "at": now, "kind": "advance", "node": node, "detail": detail}
                           for pk in ids]
    bulkload.copy_records(JourneyEvent, single)


def _write_states(rows: list[Claimed], now: datetime) -> None:
    """Write the batch's new states. On PostgreSQL, the rows moving to the same state (most of a batch: the
    same node, wait and deadline) are written by one UPDATE per state, as cheap as a bulk UPDATE gets; the
    others by one UPDATE reading the batch as a JSON document. SQLite: one prepared statement. The rows are
    still locked by the claim: an event signalled meanwhile waits for this commit, then lands in the new
    state's inbox."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                "UPDATE journeys_journeyinstance SET node = %s, status = %s, steps = %s, next_wake_at = %s, "
                "waiting_for = %s, timeout_at = %s, inbox = %s, pending_event = '', outcome = %s, ended_at = %s, "
                "updated_at = %s WHERE id = %s",
                [(row.node, row.status, row.steps, adapt(row.next_wake_at), json.dumps(row.waiting_for or []),
                  adapt(row.timeout_at), json.dumps(row.inbox or []), row.outcome, adapt(row.ended_at), adapt(now),
                  row.pk) for row in rows])
            return
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for row in rows:
            groups[(row.node, row.status, row.stepped, row.next_wake_at, tuple(row.waiting_for or ()),
                    row.timeout_at, tuple(row.inbox or ()), row.outcome, row.ended_at)].append(row.pk)
        single: set[int] = set()
        for (node, status, stepped, wake, waiting, timeout, inbox, outcome, ended), ids in groups.items():
            if len(ids) < GROUP_SIZE:
                single.update(ids)
                continue
            cursor.execute(
                "UPDATE journeys_journeyinstance SET node = %s, status = %s, steps = steps + %s, next_wake_at = %s, "
                "waiting_for = %s::jsonb, timeout_at = %s, inbox = %s::jsonb, pending_event = '', outcome = %s, "
                "ended_at = %s, updated_at = %s WHERE id = ANY(%s::bigint[])",
                [node, status, stepped, wake, json.dumps(list(waiting)), timeout, json.dumps(list(inbox)), outcome,
                 ended, now, bulkload.int_array(ids)])
        if not single:
            return

        def stamp(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        batch = json.dumps([{"id": row.pk, "node": row.node, "status": row.status, "steps": row.steps,
                             "next_wake_at": stamp(row.next_wake_at), "waiting_for": row.waiting_for or [],
                             "timeout_at": stamp(row.timeout_at), "inbox": row.inbox or [], "outcome": row.outcome,
                             "ended_at": stamp(row.ended_at)} for row in rows if row.pk in single])
        cursor.execute(
            "UPDATE journeys_journeyinstance AS i SET node = v.node, status = v.status, steps = v.steps, "
            "next_wake_at = v.next_wake_at, waiting_for = v.waiting_for, timeout_at = v.timeout_at, "
            "inbox = v.inbox, pending_event = '', outcome = v.outcome, ended_at = v.ended_at, updated_at = %s "
            "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, node text, status text, steps int, "
            "next_wake_at timestamptz, waiting_for jsonb, timeout_at timestamptz, inbox jsonb, outcome text, "
            "ended_at timestamptz) WHERE i.id = v.id", [now, batch])


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
