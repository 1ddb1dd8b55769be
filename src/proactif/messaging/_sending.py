"""Sending a batch of the outbox: claim, decide, call the providers, record — and what keeps a message from
going twice or being lost when a worker, a provider or the database fails on the way.

1. **claim** the rows still `created` and due, with a lease and a claim token, in one UPDATE;
2. **decide** per person from the data as it is now (`decide`), then the per-service rate limit;
3. **choose** each attempt's provider and write it on the rows, outcome "unknown", in one statement —
   before any call, so a worker that dies mid-call leaves behind where the message may be;
4. **call** the providers (8 threads), no database connection held;
5. **record** the outcomes in one transaction.

When the outcome is unknown — the worker died mid-call, a read timeout or a reset after the request left,
the write of the outcome failed — the provider may have the message: the next attempt goes to that same
provider with the same key (SMS gateways deliver a key once); only a definite refusal (no connection, an
answer refusing it) lets it move to another provider. A provider that does not deduplicate (SMTP) gets it
once more, counted as a possible duplicate, and no third time after a second silence. A database error
before any call releases the claims once the database answers and claims again; after the calls, the
outcomes are kept and their write retried — a message is never sent again for a lost write.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Value, When

from proactif.kernel import clock, database
from proactif.kernel.logging import get_logger
from proactif.messaging import _direct as direct
from proactif.messaging import _metrics as metrics
from proactif.messaging import _providers as providers
from proactif.messaging import _ratelimit as ratelimit
from proactif.messaging import _templating as templating
from proactif.messaging import domain
from proactif.messaging._channels.base import ChannelClient, Outgoing, Result
from proactif.messaging._plan import (  # noqa: F401 (quiet_hours: the outbox's)
    GONE,
    has_template,
    load_inputs,
    next_step,
    quiet_hours,
)
from proactif.messaging.models import OutboxMessage, PushSubscription, Template
from proactif.registry import services as registry

log = get_logger(__name__)

MAX_ATTEMPTS = 6
WRITE_EVERY, WRITE_SECONDS = 50, 0.5  # a batch's outcomes are written by this many, or after this long
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="proactif-send")


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
    client: ChannelClient | None = None
    rate_slot: datetime | None = None  # deferred to the rate-limit second reserved for it


def decide(rows: list[OutboxMessage], now: datetime) -> list[Decision]:
    """What to do with each claimed message, from the data as it is now (no provider call here). A message to a
    contact value (`_direct`) meets the oppositions on that value and its purpose's quiet hours, not the caps."""
    from proactif.messaging import _context as contexts

    by_purpose: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.person_id is not None:
            by_purpose[row.purpose].append(row.person_id)
    inputs = load_inputs(by_purpose, {row.template_key for row in rows}, now)
    people, pushes = inputs.people, inputs.pushes
    opened = direct.open_channels([row for row in rows if direct.is_direct(row)])
    reaches: dict[int, registry.Reachable | None] = {}
    decisions: list[Decision] = []
    to_render: list[Decision] = []
    for row in rows:
        quiet, limits = inputs.sending(row.purpose)
        if direct.is_direct(row):
            recipient = direct.recipient(row, opened[(row.recipient, row.purpose)])
            addresses, langue, reach, sent, limits = recipient.addresses, "fr", None, [], None
        else:
            reach = people.get(row.person_id) if row.person_id is not None else None
            if reach is None or not reach.active:
                decisions.append(Decision(row, "cancel", reason=GONE))
                continue
            recipient, addresses = inputs.recipient(reach)
            langue, sent = reach.langue, inputs.sent[reach.person_id]
        key = row.template_key
        step = next_step(row.policy, row.tried, row.lane, recipient, has_template(inputs.templates, key, langue), now,
                         quiet, limits, sent)
        if step.action == "defer":
            decisions.append(Decision(row, "defer", not_before=step.not_before, reason=step.reason))
            continue
        if step.action == "cancel":
            decisions.append(Decision(row, "cancel", reason=step.reason if reach is not None else direct.OPPOSED))
            continue
        channel = step.channel
        if step.action == "fail":
            decisions.append(Decision(row, "fail", channel=channel,
                                      reason=f"aucun modèle publié « {row.template_key} » pour le canal {channel}"))
            continue
        decision = Decision(row, "send", channel=channel, recipient=addresses[channel])
        reaches[row.pk] = reach
        decision.meta["template"] = inputs.template(key, channel, langue)
        if channel == "push":
            subscription = pushes[row.person_id]
            decision.meta["subscription"] = subscription_json(subscription)
        elif channel == "email":
            files = contexts.attachments(row.context)
            if files:
                decision.meta["attachments"] = files
            if (row.context or {}).get("desinscription"):  # RFC 8058 headers; the e-mail channel keeps https only
                decision.meta["unsubscribe"] = row.context["desinscription"]
        decisions.append(decision)
        to_render.append(decision)
    data = contexts.build_many([(d.row.pk, d.row.context, reaches[d.row.pk]) for d in to_render])
    for decision in to_render:
        template: Template = decision.meta.pop("template")
        try:
            rendered = templating.render(template.subject, template.body, data[decision.row.pk],
                                         channel=decision.channel)
        except templating.MissingData as exc:
            decision.action, decision.reason = "fail", str(exc)
            continue
        decision.subject, decision.body = rendered.subject, rendered.body  # stored: the link as its mark
        reach = reaches[decision.row.pk]
        decision.meta["synthetic"] = reach.synthetic if reach is not None else direct.synthetic(decision.row)
        decision.meta["link"] = contexts.link_url(decision.row.context)
    return decisions


def subscription_json(subscription: PushSubscription) -> str:
    import json

    return json.dumps({"endpoint": subscription.endpoint,
                       "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}})


def send_batch(ids: list[int]) -> dict[str, int]:
    """Claim these messages, decide, call the providers, record the outcomes.

    A database error before any call (the database down or restarting) waits for it with backoff, releases
    what this batch had claimed and claims again, so the messages go within seconds of its return rather than
    at the end of their lease; after the calls, the outcomes are kept and their write retried — a message a
    provider has is never sent again for a lost write. Both wait at most the lease."""
    from django.conf import settings

    lease = timedelta(seconds=settings.SEND_LEASE_SECONDS)
    patience = time.monotonic() + lease.total_seconds()
    while True:
        token = uuid.uuid4().hex
        try:
            prepared = _prepare(ids, token, lease)
        except database.DATABASE_ERRORS as exc:
            if database.in_transaction():
                raise
            log.warning("database error before sending: claims released once it answers", error=str(exc)[:200])
            if not _release(token, patience):
                raise
            continue
        break
    if prepared is None:
        return {}
    decisions, sendable, now = prepared
    figures: dict[str, int] = defaultdict(int)
    unwritten = [d for d in decisions if d.action != "send"]  # decided without a call: with the first outcomes

    def write(done: list[tuple[Decision, Result]]) -> None:
        batch = [*unwritten, *(decision for decision, _ in done)]
        outcomes = {decision.row.pk: result for decision, result in done}
        for action, count in database.patiently(lambda: _record(batch, outcomes, now), patience,
                                                "write of the outcomes").items():
            figures[action] += count
        unwritten.clear()

    if len(sendable) <= 1:
        write([(decision, _call_provider(decision)) for decision in sendable])
        return dict(figures)
    # outcomes written as they come (every WRITE_EVERY or WRITE_SECONDS): a worker that dies loses those of
    # the last moment only, not the whole batch's — fewer messages whose outcome is unknown
    calls = {_pool.submit(_call_provider, decision): decision for decision in sendable}
    done: list[tuple[Decision, Result]] = []
    written_at = time.monotonic()
    for call in as_completed(calls):
        done.append((calls[call], call.result()))
        if len(done) >= WRITE_EVERY or time.monotonic() - written_at >= WRITE_SECONDS:
            write(done)
            done, written_at = [], time.monotonic()
    if done or unwritten:
        write(done)
    return dict(figures)


def _release(token: str, until: float) -> bool:
    """Give back the messages claimed under `token` (none was sent), once the database answers again."""
    def release() -> None:
        now = clock.now()
        OutboxMessage.objects.filter(claim_token=token, status="sending").update(
            status="created", lease_until=None, claim_token="", attempts=F("attempts") - 1, updated_at=now)

    try:
        database.reconnect()
        database.patiently(release, until, "release of claims")
    except database.DATABASE_ERRORS:
        return False
    return True


def _prepare(ids: list[int], token: str, lease: timedelta) -> tuple[list[Decision], list[Decision], datetime] | None:
    """Claim, decide, apply the rate limit, and write each attempt's provider before calling it."""
    now = clock.now()
    OutboxMessage.objects.filter(pk__any=ids, status="created", not_before__lte=now).update(
        status="sending", lease_until=now + lease, claim_token=token, attempts=F("attempts") + 1, updated_at=now)
    rows = list(OutboxMessage.objects.filter(claim_token=token, status="sending"))
    if len(rows) < len(ids):
        # Ids queued for a time this worker's clock has not reached (clock skew between machines): back to
        # the sweeper at once rather than after the re-queue delay
        OutboxMessage.objects.filter(pk__any=ids, status="created", not_before__gt=now).update(queued_at=None)
    if not rows:
        return None
    decisions = decide(rows, now)
    _limit_rate([d for d in decisions if d.action == "send"], now)
    return decisions, _choose_providers([d for d in decisions if d.action == "send"], token), now


def _limit_rate(sendable: list[Decision], now: datetime) -> None:
    """The per-service rate limit: a message that holds a second already goes; urgent ones that find this
    second full get the next seconds with room (and wake then); others try again in a second."""
    window = now.replace(microsecond=0)
    waiting = [d for d in sendable if d.row.rate_slot is None or d.row.rate_slot > now]
    for urgent in (True, False):
        group = [d for d in waiting if (d.row.lane == "urgent") is urgent]
        if not group:
            continue
        granted = ratelimit.reserve_all([(d.row.service, d.channel) for d in group], now, ahead=urgent)
        for decision in group:
            slot = granted.slot(decision.row.service, decision.channel)
            if slot is None:
                decision.action, decision.not_before, decision.reason = "defer", now + timedelta(seconds=1), "rate"
            elif slot > window:
                decision.action, decision.not_before, decision.reason = "defer", slot, "rate"
                decision.rate_slot = slot


IN_FLIGHT = "appel au fournisseur en cours, ou interrompu : issue inconnue"


def _choose_providers(sendable: list[Decision], token: str) -> list[Decision]:
    """Each attempt's provider: the previous one's when its outcome is unknown. Written on the rows, with
    "unknown" as their outcome until it is known, in one statement before any call — a worker that dies
    mid-call leaves that behind for the next attempt (for every message of its batch: which calls had
    started, nobody knows). Sent again to a provider that does not deduplicate, a message counts as a
    possible duplicate."""
    doubted: list[int] = []
    possible: list[str] = []
    by_provider: dict[str, list[int]] = defaultdict(list)
    for decision in sendable:
        row = decision.row
        doubt = row.failure == "unknown"
        client = providers.client_for(decision.channel, row.idempotency_key, row.attempts, previous=row.provider,
                                      unknown=doubt)
        if doubt:
            doubted.append(row.pk)
            if not client.dedupes:
                possible.append(decision.channel)
                # the provider answered nothing last time (rather than the worker dying): this is the one retry
                decision.meta["last_try"] = row.error != IN_FLIGHT
        decision.client = client
        by_provider[client.name].append(row.pk)
    if sendable:
        OutboxMessage.objects.filter(claim_token=token, pk__any=[d.row.pk for d in sendable]).update(
            failure="unknown", error=IN_FLIGHT,
            provider=Case(*[When(pk__any=pks, then=Value(name)) for name, pks in by_provider.items()],
                          default=F("provider")),
            unknown_retries=Case(When(pk__any=doubted, then=F("unknown_retries") + 1), default=F("unknown_retries"),
                                 output_field=PositiveSmallIntegerField()) if doubted else F("unknown_retries"))
    for channel in possible:  # once written (a batch prepared again after a database error counts once)
        metrics.POSSIBLE_DUPLICATES.labels(channel=channel).inc()
    return sendable


def _call_provider(decision: Decision) -> Result:
    row = decision.row
    from proactif.messaging import _context as contexts

    meta = dict(decision.meta)
    meta.pop("last_try", None)
    link = meta.pop("link", None)  # the resident's signed link goes into what leaves, never into what is stored
    message = Outgoing(row.idempotency_key, decision.channel, decision.recipient,
                       contexts.with_link(decision.subject, link), contexts.with_link(decision.body, link),
                       synthetic=bool(meta.pop("synthetic", False)), attempt=row.attempts, meta=meta)
    client = decision.client or providers.client_for(decision.channel, row.idempotency_key, row.attempts)
    result = client.send(message)
    providers.record_outcome(decision.channel, client, result.ok)
    return result


def _record(decisions: list[Decision], results: dict[int, Result], now: datetime) -> dict[str, int]:
    """Write these outcomes in one transaction (run again as a whole if the database fails meanwhile)."""
    from proactif.messaging import _outbox as outbox

    figures: dict[str, int] = defaultdict(int)
    fallbacks: list[tuple[OutboxMessage, str]] = []
    sent: list[tuple[Any, ...]] = []
    counted: list[tuple[str, str]] = []
    deferred: list[str] = []
    with transaction.atomic():
        for decision in decisions:
            row = decision.row
            action = decision.action
            fields: dict[str, Any] = {"updated_at": now, "lease_until": None, "claim_token": "", "rate_slot": None}
            if action == "defer":
                fields.update(status="created", not_before=decision.not_before, attempts=max(0, row.attempts - 1),
                              queued_at=None, rate_slot=decision.rate_slot)
                deferred.append(decision.reason)
            elif action == "cancel":
                fields.update(status="cancelled", error=decision.reason)
            elif action == "fail":
                fields.update(status="failed", failure="permanent", error=decision.reason, channel=decision.channel)
                fallbacks.append((row, decision.channel))
            else:
                result = results[row.pk]
                fields.update(channel=decision.channel, recipient=decision.recipient[:400],
                              subject=decision.subject[:300], body=decision.body, provider=result.provider)
                if result.ok:
                    fields.update(status="sent", sent_at=now, provider_message_id=result.provider_id[:200],
                                  failure="", error="")
                elif decision.meta.get("last_try") and result.failure != "permanent":
                    # the one attempt after an unknown outcome, on a provider that does not deduplicate: the first
                    # copy may have arrived, so no third one, on this channel or another
                    fields.update(status="failed", failure=result.failure,
                                  error=f"{result.error} — déjà sans réponse une première fois : le message a "
                                        f"peut-être été reçu, il n'est pas renvoyé")
                    action = "unknown"
                elif result.failure != "permanent" and row.attempts < MAX_ATTEMPTS:
                    fields.update(status="created", not_before=now + domain.backoff(row.attempts), queued_at=None,
                                  failure=result.failure, error=result.error)
                    action = "retry"
                else:
                    fields.update(status="failed", failure=result.failure, error=result.error)
                    action = "fail"
                    fallbacks.append((row, decision.channel))
            if fields.get("status") == "sent":
                sent.append((row.pk, row.claim_token, decision.channel, fields["recipient"], fields["subject"],
                             decision.body, result.provider, fields["provider_message_id"]))
            else:
                OutboxMessage.objects.filter(pk=row.pk, claim_token=row.claim_token).update(**fields)
            figures[action] += 1
            if fields.get("status") in ("sent", "failed", "cancelled"):
                counted.append((fields.get("channel") or "-", fields["status"]))
        _write_sent(sent, now)
        if fallbacks:
            figures["fallback"] += len(outbox.create_fallbacks(fallbacks))
    for reason in deferred:  # counted once written (a write retried after a database error counts once)
        metrics.DEFERRED.labels(reason=reason).inc()
    for channel, status in counted:
        metrics.MESSAGES.labels(channel=channel, status=status).inc()
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
                "lease_until = NULL, claim_token = '', failure = '', error = '', rate_slot = NULL, "
                "channel = v.channel, recipient = v.recipient, subject = v.subject, body = v.body, "
                "provider = v.provider, provider_message_id = v.provider_id FROM unnest(%s::bigint[], %s::text[], "
                "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) AS v(id, token, channel, "
                "recipient, subject, body, provider, provider_id) WHERE m.id = v.id AND m.claim_token = v.token",
                [now, now, *columns])
        else:
            stamp = connection.ops.adapt_datetimefield_value(now)
            cursor.executemany(
                "UPDATE messaging_outboxmessage SET status = 'sent', sent_at = %s, updated_at = %s, "
                "lease_until = NULL, claim_token = '', failure = '', error = '', rate_slot = NULL, channel = %s, "
                "recipient = %s, subject = %s, body = %s, provider = %s, provider_message_id = %s "
                "WHERE id = %s AND claim_token = %s",
                [(stamp, stamp, c, r, s, b, p, i, pk, t) for pk, t, c, r, s, b, p, i in sent])
    OutboxMessage.objects.filter(pk__any=[item[0] for item in sent], status="sent",
                                 delivered_at__isnull=False).update(status="delivered")
