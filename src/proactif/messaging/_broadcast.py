"""One message to many people — an alert to a whole area — each with their own idempotency key
(`PREFIX` + person id) and, when asked, their own citizen link.

On PostgreSQL a chunk is one statement: the people as an array, the links and the outbox rows inserted
together server-side (`INSERT … SELECT … RETURNING`), keys already present skipped — no Python object per
recipient. Elsewhere (SQLite) the same rows through the row-by-row path (`links.create_many`,
`outbox.persist`). Either way the messages are queued once the surrounding transaction commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction

from proactif.kernel import clock
from proactif.messaging import _links as links
from proactif.messaging import _outbox as outbox
from proactif.messaging import domain
from proactif.messaging.models import OutboxMessage


@dataclass(frozen=True)
class Broadcast:
    key_prefix: str  # each person's key is the prefix and their id
    template_key: str
    purpose: str
    service: str
    lane: str
    policy: list[str]
    trigger: str
    context: dict[str, Any] = field(default_factory=dict)
    link_purpose: str = ""  # a citizen link per person, its id in the context as `lien_id`
    link_payload: dict[str, Any] = field(default_factory=dict)
    link_days: int = 60


TASK_CHUNK = 500  # messages per send task (one provider-call pool per task): fewer tasks to publish

_SQL = """
WITH people AS (SELECT DISTINCT unnest(%(people)s::bigint[]) AS person_id),
fresh AS (
  SELECT p.person_id FROM people p
  WHERE NOT EXISTS (SELECT 1 FROM messaging_outboxmessage o WHERE o.idempotency_key = %(prefix)s || p.person_id)
),
linked AS (
  INSERT INTO messaging_link (purpose, person_id, instance_id, message_key, payload, created_at, expires_at, uses)
  SELECT %(link_purpose)s, person_id, NULL, %(prefix)s || person_id, %(link_payload)s::jsonb, %(now)s,
         %(expires)s, 0
  FROM fresh WHERE %(with_links)s
  RETURNING id, person_id
),
recipients AS (
  SELECT f.person_id, l.id AS link_id FROM fresh f LEFT JOIN linked l ON l.person_id = f.person_id
)
INSERT INTO messaging_outboxmessage (
  idempotency_key, person_id, service, purpose, lane, policy, channel, tried, template_key, context, status,
  failure, error, attempts, not_before, queued_at, claim_token, provider, provider_message_id, recipient, subject,
  body, "trigger", step, created_at, updated_at)
SELECT %(prefix)s || r.person_id, r.person_id, %(service)s, %(purpose)s, %(lane)s, %(policy)s::jsonb, '',
       '[]'::jsonb, %(template_key)s,
       CASE WHEN r.link_id IS NULL THEN %(context)s::jsonb
            ELSE %(context)s::jsonb || jsonb_build_object('lien_id', r.link_id) END,
       'created', '', '', 0, %(now)s, %(now)s, '', '', '', '', '', '', %(trigger)s, '', %(now)s, %(now)s
FROM recipients r
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""


def send(spec: Broadcast, person_ids: list[int]) -> list[int]:
    """Write the messages of these people (skipping keys already written) and queue them at commit. Returns
    the ids of the messages written now."""
    if spec.lane not in domain.LANES:
        raise ValueError(f"voie inconnue : {spec.lane}")
    domain.channel_order(spec.policy, ())  # an unknown channel is refused now, not at send time
    if not person_ids:
        return []
    if connection.vendor == "postgresql":
        now = clock.now()
        with connection.cursor() as cursor:
            cursor.execute(_SQL, {
                "people": list(person_ids), "prefix": spec.key_prefix, "link_purpose": spec.link_purpose,
                "link_payload": json.dumps(spec.link_payload), "now": now,
                "expires": now + timedelta(days=spec.link_days), "with_links": bool(spec.link_purpose),
                "service": spec.service, "purpose": spec.purpose, "lane": spec.lane,
                "policy": json.dumps(spec.policy), "template_key": spec.template_key,
                "context": json.dumps(spec.context), "trigger": spec.trigger})
            ids = [row[0] for row in cursor.fetchall()]
        # marked queued as they are written: handed to the workers at commit, without reading them again (if
        # this process dies in between, the sweeper queues them again after two minutes)
        if ids:
            transaction.on_commit(lambda: outbox.queue_ids(spec.lane, ids, TASK_CHUNK))
        return ids
    ids = _row_by_row(spec, person_ids)
    if ids:
        transaction.on_commit(lambda: outbox.dispatch(ids))
    return ids


def _row_by_row(spec: Broadcast, person_ids: list[int]) -> list[int]:
    keys = {p: f"{spec.key_prefix}{p}" for p in dict.fromkeys(person_ids)}
    done = set(OutboxMessage.objects.filter(idempotency_key__in=list(keys.values())).values_list(
        "idempotency_key", flat=True))
    fresh = [p for p in keys if keys[p] not in done]
    link_ids: list[int | None] = list(links.create_many([
        links.LinkRequest(spec.link_purpose, p, payload=spec.link_payload, message_key=keys[p], days=spec.link_days)
        for p in fresh])) if spec.link_purpose else [None] * len(fresh)
    written = outbox.persist(outbox.MessageSpec(
        keys[p], p, spec.template_key, spec.purpose, spec.service, lane=spec.lane, policy=spec.policy,
        trigger=spec.trigger, context={**spec.context, **({"lien_id": link} if link else {})})
        for p, link in zip(fresh, link_ids, strict=True))
    return [written[keys[p]] for p in fresh]
