"""The outbox: persist, queue, act, sweep.

1. A message is a row (`persist`) before it is a task (`dispatch` queues its id on its lane).
2. `send_batch` (in `_sending`) claims rows still `created` and due, with a lease and a claim token, in one
   UPDATE; the transaction ends before any provider is called.
3. At send time, per person: consents and oppositions, the channel (preferred then fallback), quiet hours
   and frequency caps (urgent bypasses both), per-service rate limits, the template rendered from the data
   as it is now. Then the provider call, with the idempotency key.
4. Temporary failures come back later (backoff, next provider); permanent ones fall back to the next
   channel; the sweeper returns stuck rows (a worker killed mid-send) to the queue. A duplicate send after
   a crash carries the same idempotency key, which the provider uses to deliver once.

When the outcome of a call is unknown, the next attempt goes to the same provider with the same key; a
database outage is waited out without sending anything twice — see `_sending`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from proactif.kernel import bulkload, clock, database
from proactif.kernel.logging import get_logger
from proactif.messaging import _ratelimit as ratelimit
from proactif.messaging import domain
from proactif.messaging._sending import (  # noqa: F401 (the outbox's surface: sending lives in _sending)
    MAX_ATTEMPTS,
    Decision,
    decide,
    quiet_hours,
    send_batch,
    subscription_json,
)
from proactif.messaging.models import OutboxMessage

log = get_logger(__name__)

DISPATCH_CHUNK = 100


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
    # A contact value (a mobile number, an e-mail address) the message goes to instead of a person — a registered
    # person's emergency contact, often no resident: with `person_id` None and `policy` one concrete channel
    address: str = ""


def persist(specs: Iterable[MessageSpec]) -> dict[str, int]:
    """Create the rows (a key already present is left as it is: idempotent). Returns key → id. A message to a
    contact value (`address`) stores it as its recipient now: ValueError unless it names no person and one
    concrete channel (`domain.direct_address`)."""
    specs = list(specs)
    if not specs:
        return {}
    now = clock.now()
    for lane, policy in {(spec.lane, tuple(spec.policy)) for spec in specs}:  # each distinct one, checked once
        if lane not in domain.LANES:
            raise ValueError(f"voie inconnue : {lane}")
        domain.channel_order(list(policy), ())  # refuses an unknown channel now, not at send time
    recipients = {}
    for spec in specs:
        if spec.address:
            if spec.person_id is not None:
                raise ValueError("un message adressé à une coordonnée ne vise pas aussi une personne")
            recipients[spec.key] = domain.direct_address(spec.policy, spec.address)
    inserted = dict(bulkload.copy_records(OutboxMessage, [
        {"idempotency_key": s.key, "person_id": s.person_id, "service": s.service, "purpose": s.purpose,
         "lane": s.lane, "policy": s.policy, "template_key": s.template_key, "context": s.context,
         "not_before": s.not_before or now, "trigger": s.trigger, "instance_id": s.instance_id, "step": s.step,
         "recipient": recipients.get(s.key, ""), "created_at": now, "updated_at": now} for s in specs],
        skip_conflicts=True, returning="idempotency_key"))
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


def rate_slots(ids: list[int]) -> list[tuple[int, datetime]]:
    """Of these messages, those waiting for the rate-limit second reserved for them, with that second."""
    return list(OutboxMessage.objects.filter(pk__any=ids, status="created", rate_slot__isnull=False)
                .values_list("id", "rate_slot"))


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


def create_fallbacks(failed: list[tuple[OutboxMessage, str]]) -> dict[str, int]:
    """The next channel for messages that failed or were not delivered on `channel` (same trigger and step)."""
    specs = []
    for row, channel in failed:
        tried = [*row.tried, channel]
        if len(tried) >= len(domain.CHANNELS) or row.person_id is None:  # a contact value: its one channel only
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
    later (quiet hours, caps, backoff) stay for the scheduler; those the rate limit holds for a moment are
    waited for. Rows another worker holds are waited for; those of a worker that died come back when its
    lease ends. A database outage is waited out (reconnecting with backoff, up to the lease)."""
    from django.conf import settings

    figures: dict[str, int] = defaultdict(int)
    sleep = idle or time.sleep

    def step() -> float | None:
        """One round: how long to wait before the next, None when done."""
        now = clock.now()
        figures["stuck_returned"] += _return_expired_leases(now)
        due = list(OutboxMessage.objects.filter(status="created", not_before__lte=now).order_by(
            "lane", "not_before").values_list("id", flat=True)[:batch])
        if due:
            for action, count in send_batch(due).items():
                figures[action] += count
            if progress:
                progress(dict(figures))
            return 0.0
        held = OutboxMessage.objects.filter(status="sending").order_by("lease_until").values_list(
            "lease_until", flat=True).first()
        if held is not None:
            return min(1.0, max(0.05, (held - now).total_seconds()))
        if not clock.is_running():
            return None
        limited = OutboxMessage.objects.filter(status="created").filter(
            Q(rate_slot__isnull=False) | Q(not_before__lte=now + timedelta(seconds=1))).order_by(
            "not_before").values_list("not_before", flat=True).first()
        return None if limited is None else min(1.0, max(0.05, (limited - now).total_seconds()))

    while True:
        wait = database.patiently(step, time.monotonic() + settings.SEND_LEASE_SECONDS, "drain")
        if wait is None:
            return dict(figures)
        if wait:
            sleep(wait)


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
