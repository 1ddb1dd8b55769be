"""The outbox: persist, queue, act, sweep.

1. A message is a row (`persist`) before it is a task (`dispatch` queues its id on its lane).
2. `send_batch` claims rows still `created` and due, with a lease and a claim token, in one UPDATE; the
   transaction ends before any provider is called.
3. At send time, per person: consents and oppositions, the channel (preferred then fallback), quiet hours
   and frequency caps (urgent bypasses both), per-service rate limits, the template rendered from the data
   as it is now. Then the provider call, with the idempotency key.
4. Temporary failures come back later (backoff, next provider); permanent ones fall back to the next
   channel; the sweeper returns stuck rows (a worker killed mid-send) to the queue. A duplicate send after
   a crash carries the same idempotency key, which the provider uses to deliver once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q

from proactif.kernel import bulkload, clock
from proactif.kernel.logging import get_logger
from proactif.messaging import _metrics as metrics
from proactif.messaging import _providers as providers
from proactif.messaging import _ratelimit as ratelimit
from proactif.messaging import _templating as templating
from proactif.messaging import domain
from proactif.messaging._channels.base import Outgoing, Result
from proactif.messaging.models import OutboxMessage, PushSubscription, Template
from proactif.registry import services as registry

log = get_logger(__name__)

MAX_ATTEMPTS = 6
DISPATCH_CHUNK = 100
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="proactif-send")


@dataclass(slots=True)
class MessageSpec:
    key: str
    person_id: int | None
    template_key: str
    purpose: str
    service: str
    lane: str = "transactional"
    policy: list[str] = field(default_factory=lambda: ["preferred"])
    context: dict[str, Any] = field(default_factory=dict)
    not_before: datetime | None = None
    trigger: str = "manual"
    instance_id: int | None = None
    step: str = ""


def persist(specs: Iterable[MessageSpec]) -> dict[str, int]:
    """Create the rows (a key already present is left as it is: idempotent). Returns key → id."""
    specs = list(specs)
    if not specs:
        return {}
    now = clock.now()
    for lane, policy in {(spec.lane, tuple(spec.policy)) for spec in specs}:  # each distinct one, checked once
        if lane not in domain.LANES:
            raise ValueError(f"voie inconnue : {lane}")
        domain.channel_order(list(policy), ())  # refuses an unknown channel now, not at send time
    inserted = dict(bulkload.copy_records(OutboxMessage, [
        {"idempotency_key": s.key, "person_id": s.person_id, "service": s.service, "purpose": s.purpose,
         "lane": s.lane, "policy": s.policy, "template_key": s.template_key, "context": s.context,
         "not_before": s.not_before or now, "trigger": s.trigger, "instance_id": s.instance_id, "step": s.step,
         "created_at": now, "updated_at": now} for s in specs], skip_conflicts=True, returning="idempotency_key"))
    missing = [s.key for s in specs if s.key not in inserted]  # already there: persisting is idempotent
    if missing:
        inserted.update(OutboxMessage.objects.filter(idempotency_key__in=missing).values_list("idempotency_key", "id"))
    return inserted


def dispatch(ids: Iterable[int]) -> int:
    """Queue ids on their lanes (after the transaction that created them has committed)."""

    rows = list(OutboxMessage.objects.filter(pk__any=list(ids), status="created").values_list("id", "lane",
                                                                                           "not_before"))
    now = clock.now()
    due = [(pk, lane) for pk, lane, not_before in rows if not_before <= now]
    if not due:
        return 0
    OutboxMessage.objects.filter(pk__any=[pk for pk, _ in due]).update(queued_at=now)
    by_lane: dict[str, list[int]] = defaultdict(list)
    for pk, lane in due:
        by_lane[lane].append(pk)
    for lane in domain.LANES:  # urgent first
        queue_ids(lane, by_lane.get(lane, []))
    return len(due)


def held_by_rate(ids: list[int]) -> list[int]:
    """Of these messages, those the rate limit put back by a second (due again now or in a moment)."""
    soon = clock.now() + timedelta(seconds=1)
    return list(OutboxMessage.objects.filter(pk__any=ids, status="created", queued_at__isnull=True,
                                             not_before__lte=soon).values_list("id", flat=True))


def queue_ids(lane: str, ids: list[int], chunk: int = DISPATCH_CHUNK) -> None:
    """Hand ids already marked queued (`queued_at`) to the lane's workers, `chunk` per task."""
    from proactif.kernel import executor

    for start in range(0, len(ids), chunk):
        executor.enqueue(f"messaging.send_{lane}", ids[start:start + chunk])


def enqueue(specs: Iterable[MessageSpec]) -> dict[str, int]:
    """Persist, then queue once the surrounding transaction commits."""
    keys = persist(specs)
    transaction.on_commit(lambda: dispatch(keys.values()))
    return keys


# --- sending --------------------------------------------------------------------------------
@dataclass(slots=True)
class Decision:
    row: OutboxMessage
    action: str  # send | defer | cancel | fail
    channel: str = ""
    recipient: str = ""
    subject: str = ""
    body: str = ""
    not_before: datetime | None = None
    reason: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def _templates(keys: set[str]) -> dict[tuple[str, str, str], Template]:
    latest: dict[tuple[str, str, str], Template] = {}
    for template in Template.objects.filter(key__in=keys, status="published").order_by("version"):
        latest[(template.key, template.channel, template.language)] = template
    return latest


def quiet_hours() -> domain.QuietHours:
    from django.conf import settings

    start, end = domain.parse_hours(settings.QUIET_HOURS)
    return domain.QuietHours(start, end, settings.QUIET_SUNDAYS, settings.QUIET_HOLIDAYS, settings.ALSACE_MOSELLE,
                             clock.local_tz())


def _caps() -> domain.Caps:
    from django.conf import settings

    return domain.Caps(settings.CAP_PER_DAY, settings.CAP_PER_WEEK)


def decide(rows: list[OutboxMessage], now: datetime) -> list[Decision]:
    """What to do with each claimed message, from the data as it is now (no provider call here)."""
    from proactif.messaging import _context as contexts

    people: dict[int, registry.Reachable] = {}
    by_purpose: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.person_id is not None:
            by_purpose[row.purpose].append(row.person_id)
    for purpose, person_ids in by_purpose.items():
        people.update(registry.reachable(person_ids, purpose))
    pushes: dict[int, PushSubscription] = {
        s.person_id: s for s in PushSubscription.objects.filter(person_id__any=list(people), revoked_at__isnull=True)}
    sent: dict[int, list[datetime]] = defaultdict(list)
    for person_id, sent_at in OutboxMessage.objects.filter(
            person_id__any=list(people), sent_at__gte=now - timedelta(days=7)).exclude(lane="urgent").values_list(
            "person_id", "sent_at"):
        sent[person_id].append(sent_at)
    quiet, caps = quiet_hours(), _caps()
    templates = _templates({row.template_key for row in rows})
    decisions: list[Decision] = []
    to_render: list[Decision] = []
    for row in rows:
        reach = people.get(row.person_id) if row.person_id is not None else None
        if reach is None or not reach.active:
            decisions.append(Decision(row, "cancel", reason="personne inconnue, partie ou décédée"))
            continue
        addresses = dict(reach.addresses)
        if row.person_id in pushes:
            addresses["push"] = pushes[row.person_id].endpoint
        recipient = domain.Recipient(reach.preferences, addresses, reach.allowed)
        channel = domain.choose_channel(row.policy, recipient, row.tried)
        if channel is None:
            reason = ("opposition ou consentement absent pour tous les canaux" if not reach.allowed
                      else "aucun canal joignable" if not row.tried else "plus de canal de repli")
            decisions.append(Decision(row, "cancel", reason=reason))
            continue
        urgent = row.lane == "urgent"
        if not urgent and channel != "letter" and not quiet.allows(now):
            decisions.append(Decision(row, "defer", not_before=quiet.next_allowed(now), reason="quiet_hours"))
            continue
        if not urgent:
            release = domain.cap_release(sent[reach.person_id], now, caps)
            if release is not None:
                decisions.append(Decision(row, "defer", not_before=quiet.next_allowed(release), reason="cap"))
                continue
            sent[reach.person_id].append(now)  # a second message to the same person in this batch counts
        template = (templates.get((row.template_key, channel, reach.langue))
                    or templates.get((row.template_key, channel, "fr")))
        if template is None:
            decisions.append(Decision(row, "fail", channel=channel,
                                      reason=f"aucun modèle publié « {row.template_key} » pour le canal {channel}"))
            continue
        decision = Decision(row, "send", channel=channel, recipient=addresses[channel])
        decision.meta["template"] = template
        if channel == "push":
            subscription = pushes[row.person_id]
            decision.meta["subscription"] = subscription_json(subscription)
        elif channel == "email":
            files = contexts.attachments(row.context)
            if files:
                decision.meta["attachments"] = files
        decisions.append(decision)
        to_render.append(decision)
    data = contexts.build_many([(d.row.pk, d.row.context, people[d.row.person_id]) for d in to_render])
    for decision in to_render:
        template: Template = decision.meta.pop("template")
        try:
            rendered = templating.render(template.subject, template.body, data[decision.row.pk])
        except templating.MissingData as exc:
            decision.action, decision.reason = "fail", str(exc)
            continue
        decision.subject, decision.body = rendered.subject, rendered.body  # stored: the link as its mark
        decision.meta["synthetic"] = people[decision.row.person_id].synthetic
        decision.meta["link"] = contexts.link_url(decision.row.context)
    return decisions


def subscription_json(subscription: PushSubscription) -> str:
    import json

    return json.dumps({"endpoint": subscription.endpoint,
                       "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}})


def send_batch(ids: list[int]) -> dict[str, int]:
    from django.conf import settings

    token = uuid.uuid4().hex
    now = clock.now()
    lease = timedelta(seconds=settings.SEND_LEASE_SECONDS)
    OutboxMessage.objects.filter(pk__any=ids, status="created", not_before__lte=now).update(
        status="sending", lease_until=now + lease, claim_token=token, attempts=F("attempts") + 1, updated_at=now)
    rows = list(OutboxMessage.objects.filter(claim_token=token, status="sending"))
    if len(rows) < len(ids):
        # Ids queued for a time this worker's clock has not reached (clock skew between machines): back to
        # the sweeper at once rather than after the re-queue delay
        OutboxMessage.objects.filter(pk__any=ids, status="created", not_before__gt=now).update(queued_at=None)
    if not rows:
        return {}
    decisions = decide(rows, now)
    sendable = [d for d in decisions if d.action == "send"]
    granted = ratelimit.reserve_all([(d.row.service, d.channel) for d in sendable], now)
    for decision in sendable:
        if not granted.take(decision.row.service, decision.channel):
            decision.action, decision.not_before, decision.reason = "defer", now + timedelta(seconds=1), "rate"
    sendable = [d for d in decisions if d.action == "send"]
    results = list(_pool.map(_call_provider, sendable)) if len(sendable) > 1 else [_call_provider(d)
                                                                                  for d in sendable]
    return _record(decisions, dict(zip([d.row.pk for d in sendable], results, strict=True)), now)


def _call_provider(decision: Decision) -> Result:
    row = decision.row
    from proactif.messaging import _context as contexts

    meta = dict(decision.meta)
    link = meta.pop("link", None)  # the resident's signed link goes into what leaves, never into what is stored
    message = Outgoing(row.idempotency_key, decision.channel, decision.recipient,
                       contexts.with_link(decision.subject, link), contexts.with_link(decision.body, link),
                       synthetic=bool(meta.pop("synthetic", False)), attempt=row.attempts, meta=meta)
    client = providers.client_for(decision.channel, row.idempotency_key, row.attempts)
    result = client.send(message)
    providers.record_outcome(decision.channel, client, result.ok)
    return result


def _record(decisions: list[Decision], results: dict[int, Result], now: datetime) -> dict[str, int]:
    figures: dict[str, int] = defaultdict(int)
    fallbacks: list[tuple[OutboxMessage, str]] = []
    sent: list[tuple[Any, ...]] = []
    with transaction.atomic():
        for decision in decisions:
            row = decision.row
            fields: dict[str, Any] = {"updated_at": now, "lease_until": None, "claim_token": ""}
            if decision.action == "defer":
                fields.update(status="created", not_before=decision.not_before, attempts=max(0, row.attempts - 1),
                              queued_at=None)
                metrics.DEFERRED.labels(reason=decision.reason).inc()
            elif decision.action == "cancel":
                fields.update(status="cancelled", error=decision.reason)
            elif decision.action == "fail":
                fields.update(status="failed", failure="permanent", error=decision.reason, channel=decision.channel)
                fallbacks.append((row, decision.channel))
            else:
                result = results[row.pk]
                fields.update(channel=decision.channel, recipient=decision.recipient[:400],
                              subject=decision.subject[:300], body=decision.body, provider=result.provider)
                if result.ok:
                    fields.update(status="sent", sent_at=now, provider_message_id=result.provider_id[:200],
                                  failure="", error="")
                elif result.failure != "permanent" and row.attempts < MAX_ATTEMPTS:
                    fields.update(status="created", not_before=now + domain.backoff(row.attempts), queued_at=None,
                                  failure=result.failure, error=result.error)
                    decision.action = "retry"
                else:
                    fields.update(status="failed", failure=result.failure, error=result.error)
                    decision.action = "fail"
                    fallbacks.append((row, decision.channel))
            if fields.get("status") == "sent":
                sent.append((row.pk, row.claim_token, decision.channel, fields["recipient"], fields["subject"],
                             decision.body, result.provider, fields["provider_message_id"]))
            else:
                OutboxMessage.objects.filter(pk=row.pk, claim_token=row.claim_token).update(**fields)
            figures[decision.action] += 1
            if fields.get("status") in ("sent", "failed", "cancelled"):
                metrics.MESSAGES.labels(channel=fields.get("channel") or "-", status=fields["status"]).inc()
        _write_sent(sent, now)
        if fallbacks:
            figures["fallback"] += len(create_fallbacks(fallbacks))
    return dict(figures)


def _write_sent(sent: list[tuple[Any, ...]], now: datetime) -> None:
    """The messages a batch sent, written in one statement (PostgreSQL) or one prepared statement; then those
    whose delivery receipt overtook the write become delivered."""
    from django.db import connection

    if not sent:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [list(column) for column in zip(*sent, strict=True)]
            cursor.execute(
                "UPDATE messaging_outboxmessage AS m SET status = 'sent', sent_at = %s, updated_at = %s, "
                "lease_until = NULL, claim_token = '', failure = '', error = '', channel = v.channel, "
                "recipient = v.recipient, subject = v.subject, body = v.body, provider = v.provider, "
                "provider_message_id = v.provider_id FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], "
                "%s::text[], %s::text[], %s::text[], %s::text[]) AS v(id, token, channel, recipient, subject, body, "
                "provider, provider_id) WHERE m.id = v.id AND m.claim_token = v.token", [now, now, *columns])
        else:
            stamp = connection.ops.adapt_datetimefield_value(now)
            cursor.executemany(
                "UPDATE messaging_outboxmessage SET status = 'sent', sent_at = %s, updated_at = %s, "
                "lease_until = NULL, claim_token = '', failure = '', error = '', channel = %s, recipient = %s, "
                "subject = %s, body = %s, provider = %s, provider_message_id = %s WHERE id = %s AND claim_token = %s",
                [(stamp, stamp, c, r, s, b, p, i, pk, t) for pk, t, c, r, s, b, p, i in sent])
    OutboxMessage.objects.filter(pk__any=[item[0] for item in sent], status="sent",
                                 delivered_at__isnull=False).update(status="delivered")


def create_fallbacks(failed: list[tuple[OutboxMessage, str]]) -> dict[str, int]:
    """The next channel for messages that failed or were not delivered on `channel` (same trigger and step)."""
    specs = []
    for row, channel in failed:
        tried = [*row.tried, channel]
        if len(tried) >= len(domain.CHANNELS):
            continue
        specs.append((MessageSpec(f"{row.idempotency_key}|repli:{channel}"[:200], row.person_id, row.template_key,
                                  row.purpose, row.service, row.lane, row.policy, row.context, trigger=row.trigger,
                                  instance_id=row.instance_id, step=row.step), tried, row.pk))
    keys = persist(spec for spec, _, _ in specs)
    for spec, tried, origin in specs:
        OutboxMessage.objects.filter(idempotency_key=spec.key, status="created").update(tried=tried,
                                                                                        fallback_of_id=origin)
    transaction.on_commit(lambda: dispatch(keys.values()))
    return keys


# --- sweeping -------------------------------------------------------------------------------
def _return_expired_leases(now: datetime) -> int:
    """Messages a dead worker was sending go back to the queue once its lease has ended."""
    return int(OutboxMessage.objects.filter(status="sending", lease_until__lt=now).update(
        status="created", lease_until=None, claim_token="", queued_at=None, updated_at=now))


def sweep() -> dict[str, int]:
    """Return stuck rows to the queue and queue what has become due."""
    now = clock.now()
    stuck = _return_expired_leases(now)
    due = list(OutboxMessage.objects.filter(status="created", not_before__lte=now).filter(
        Q(queued_at__isnull=True) | Q(queued_at__lt=now - timedelta(minutes=2))).values_list("id", flat=True)[:50_000])
    dispatched = dispatch(due)
    ratelimit.forget_before(now - timedelta(minutes=5))
    return {"stuck_returned": stuck, "dispatched": dispatched}


def drain(batch: int = 500, idle: Callable[[float], None] | None = None,
          progress: Callable[[dict[str, int]], None] | None = None) -> dict[str, int]:
    """Send everything due now, in this process, until nothing is due or in flight: messages deferred to
    later (quiet hours, caps, backoff) stay for the scheduler. Rows another worker holds are waited for;
    those of a worker that died come back when its lease ends."""
    import time

    figures: dict[str, int] = defaultdict(int)
    while True:
        now = clock.now()
        figures["stuck_returned"] += _return_expired_leases(now)
        due = list(OutboxMessage.objects.filter(status="created", not_before__lte=now).order_by(
            "lane", "not_before").values_list("id", flat=True)[:batch])
        if due:
            for action, count in send_batch(due).items():
                figures[action] += count
            if progress:
                progress(dict(figures))
            continue
        held = OutboxMessage.objects.filter(status="sending").order_by("lease_until").values_list(
            "lease_until", flat=True).first()
        if held is None:
            return dict(figures)
        (idle or time.sleep)(min(1.0, max(0.05, (held - now).total_seconds())))


def next_due() -> datetime | None:
    """When the sweeper next has something to do (simulations jump straight there)."""
    first = OutboxMessage.objects.filter(status="created").order_by("not_before").values_list(
        "not_before", flat=True).first()
    lease = OutboxMessage.objects.filter(status="sending").order_by("lease_until").values_list(
        "lease_until", flat=True).first()
    candidates = [t for t in (first, lease) if t is not None]
    return min(candidates) if candidates else None


def _awaiting_receipt() -> Any:
    """SMS and push messages sent, not (yet) delivered, and not already fallen back."""
    fallen_back = OutboxMessage.objects.filter(fallback_of__isnull=False).values("fallback_of_id")
    return OutboxMessage.objects.filter(status="sent", channel__in=("sms", "push")).exclude(pk__in=fallen_back)


def fallback_overdue() -> dict[str, int]:
    """SMS and push messages without a delivery receipt after PROACTIF_FALLBACK_HOURS fall back."""
    from django.conf import settings

    cutoff = clock.now() - timedelta(hours=settings.FALLBACK_HOURS)
    overdue = list(_awaiting_receipt().filter(sent_at__lt=cutoff)[:10_000])
    with transaction.atomic():
        created = create_fallbacks([(row, row.channel) for row in overdue])
    return {"fallbacks": len(created)}


def next_fallback_due() -> datetime | None:
    from django.conf import settings

    first = _awaiting_receipt().order_by("sent_at").values_list("sent_at", flat=True).first()
    return first + timedelta(hours=settings.FALLBACK_HOURS) if first else None
