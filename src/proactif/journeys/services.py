"""Journey use cases: definitions (versioned, immutable once published), entry, events, agent takeover,
timelines and funnels."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, QuerySet, Sum

from proactif.accounts.domain import Access, AccessDenied, Actor, Section
from proactif.audit import services as audit
from proactif.journeys import _contexts as contexts
from proactif.journeys import _engine as engine
from proactif.journeys import domain
from proactif.journeys.models import AgentTask, JourneyDefinition, JourneyEvent, JourneyInstance, NodeVisit
from proactif.kernel import bulkload, capabilities, clock
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging
from proactif.registry import services as registry

log = get_logger(__name__)

DefinitionError = domain.DefinitionError
UnknownJourney = JourneyDefinition.DoesNotExist
advance = engine.advance
INBOX_SIZE = engine.INBOX_SIZE
ANALYZE_AFTER = 10_000  # instances entered at once after which the planner statistics are refreshed
run_until_idle = engine.run_until_idle


class TakeoverError(ValueError):
    """An agent action refused; `field` names the input at fault, when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- definitions ----------------------------------------------------------------------------
def published_template_keys() -> set[str]:
    return {t.key for t in messaging.templates() if t.status == "published"}


def compile_source(source: str) -> dict[str, Any]:
    return domain.compile_definition(source, known_events=tuple(capabilities.events()),
                                     known_channels=tuple(capabilities.channels(sent=True)),
                                     templates=published_template_keys(), check_condition=contexts.check_condition,
                                     segments=set(registry.segment_names()),
                                     known_recipients=capabilities.recipients_codes())


def save_definition(source: str, *, author: str = "", publish: bool = False) -> JourneyDefinition:
    """Check the YAML and keep it as a new version (a draft replaces the previous draft). Published
    versions never change: running instances stay on theirs."""
    spec = compile_source(source)
    digest = hashlib.sha256(source.encode()).hexdigest()
    now = clock.now()
    with transaction.atomic():
        latest = JourneyDefinition.objects.select_for_update().filter(key=spec["key"]).order_by("-version").first()
        if latest is not None and latest.source_hash == digest and (latest.status == "published" or not publish):
            return latest
        if latest is not None and latest.status == "draft":
            definition = latest
        else:
            definition = JourneyDefinition(key=spec["key"], version=(latest.version + 1) if latest else 1,
                                           created_at=now)
        definition.name, definition.service, definition.purpose = spec["name"], spec["service"], spec["purpose"]
        definition.source, definition.spec, definition.source_hash = source, spec, digest
        definition.created_by = author[:254]
        definition.save()
        if publish:
            publish_definition(definition.pk)
            definition.refresh_from_db()
    return definition


def publish_definition(definition_id: int) -> JourneyDefinition:
    now = clock.now()
    with transaction.atomic():
        definition = JourneyDefinition.objects.select_for_update().get(pk=definition_id)
        if definition.status == "published":
            return definition
        JourneyDefinition.objects.filter(key=definition.key, status="published").update(status="retired")
        definition.status, definition.published_at = "published", now
        definition.save(update_fields=["status", "published_at"])
    return definition


def load_folder(folder: Path, author: str = "système") -> list[JourneyDefinition]:
    """Publish the YAML definitions shipped in `folder` whose text changed (idempotent). A journey an agent
    has published since keeps their version."""
    loaded = []
    for path in sorted(folder.glob("*.yaml")):
        source = path.read_text(encoding="utf-8")
        key = str((domain.load_yaml(source) or {}).get("key", ""))
        latest = JourneyDefinition.objects.filter(key=key, status="published").first()
        if latest is not None and latest.created_by != author:
            continue
        loaded.append(save_definition(source, author=author, publish=True))
    return loaded


def visible_definitions(actor: Actor) -> QuerySet[JourneyDefinition]:
    """The published journeys of the actor's service (every service's for the platform itself)."""
    qs = current_definitions()
    return qs if actor.service is None else qs.filter(service=actor.service)


def check_service(actor: Actor, definition: JourneyDefinition) -> None:
    """Another service's journey, and its instances, do not exist for an agent (404, not a hint that they do)."""
    if actor.service is not None and definition.service != actor.service:
        raise JourneyDefinition.DoesNotExist(f"le parcours « {definition.key} » relève d'un autre service")


def definitions() -> QuerySet[JourneyDefinition]:
    return JourneyDefinition.objects.all()


def current_definitions() -> QuerySet[JourneyDefinition]:
    return JourneyDefinition.objects.filter(status="published").order_by("name")


def definition_by_key(key: str) -> JourneyDefinition:
    return JourneyDefinition.objects.filter(key=key, status="published").get()


# --- entry ----------------------------------------------------------------------------------
def enter_due(today: Any = None) -> dict[str, int]:
    """Start an instance for everyone whose date has entered a published journey's window (one INSERT …
    SELECT per journey; the partial unique index keeps one live instance per person and journey)."""
    today = today or clock.today()
    figures: dict[str, int] = {}
    for definition in current_definitions():
        entry = definition.spec["entry"]
        if entry["type"] == "date":
            figures[definition.key] = _enter_documents(definition, entry, today)
        elif entry["type"] == "segment":
            figures[definition.key] = _enter_segment(definition, entry["segment"], today)
    return figures


def _enter_segment(definition: JourneyDefinition, segment: str, today: Any) -> int:
    """Start the journey for the segment's members who are not in it (and, unless the rule is
    `after_exit`, never were: a segment has no subject to renew)."""
    members = set(registry.segment_members(segment, today))
    past = JourneyInstance.objects.filter(journey_key=definition.key)
    if definition.spec.get("re_entry") == "after_exit":
        past = past.filter(status__in=JourneyInstance.LIVE)
    members -= set(past.values_list("person_id", flat=True))
    now = clock.now()
    start_node = definition.spec["start"]
    rows = [JourneyInstance(definition=definition, journey_key=definition.key, person_id=person_id,
                            node=start_node, next_wake_at=now, context={}, entered_at=now, updated_at=now)
            for person_id in sorted(members)]
    with transaction.atomic():
        JourneyInstance.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def _enter_documents(definition: JourneyDefinition, entry: dict[str, Any], today: Any) -> int:
    from proactif.kernel.bulkload import datetime_text

    earliest, latest = domain.entry_window(entry, today)
    now = datetime_text(clock.now())
    spec = definition.spec
    postgres = connection.vendor == "postgresql"
    context_sql = "json_build_object('document_id', d.id)" if postgres else "json_object('document_id', d.id)"
    empty_list = "'[]'::jsonb" if postgres else "'[]'"
    rule = spec.get("re_entry", "per_subject")
    history = {"never": "", "per_subject": " AND i.subject_id = d.id", "after_exit": " AND 1 = 0"}[rule]
    kinds = list(entry["kinds"])
    kind_marks = ", ".join(["%s"] * len(kinds))
    field = entry["field"]
    if field not in ("expires_on", "issued_on"):
        raise DefinitionError([f"champ de date inconnu : {field}"])
    sql = f"""
        INSERT INTO journeys_journeyinstance (definition_id, journey_key, person_id, subject_id, status, node, steps,
            next_wake_at, waiting_for, inbox, pending_event, context, outcome, entered_at, updated_at)
        SELECT %s, %s, d.person_id, d.id, 'active', %s, 0, %s, {empty_list}, {empty_list}, '', {context_sql}, '',
            %s, %s
        FROM registry_document d JOIN registry_person p ON p.id = d.person_id
        WHERE d.kind IN ({kind_marks}) AND d.status IN ('valide', 'expire') AND p.status = 'active'
          AND d.{field} BETWEEN %s AND %s
          AND NOT EXISTS (SELECT 1 FROM journeys_journeyinstance i WHERE i.person_id = d.person_id
                          AND i.journey_key = %s{history})
        ORDER BY d.{field}, d.id
        ON CONFLICT DO NOTHING"""
    params = [definition.pk, definition.key, spec["start"], now, now, now, *kinds, earliest.isoformat(),
              latest.isoformat(), definition.key]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        entered = max(0, cursor.rowcount)
    if entered >= ANALYZE_AFTER:  # the planner learns at once that many instances are due
        bulkload.analyze(["journeys_journeyinstance"])
    return entered


def start(key: str, person_id: int, *, subject_id: int | None = None, context: dict[str, Any] | None = None) -> (
        JourneyInstance | None):
    """Start one instance now (an event entry, an agent's decision); None if the person already has one live
    or the re-entry rule refuses."""
    definition = definition_by_key(key)
    rule = definition.spec.get("re_entry", "per_subject")
    past = JourneyInstance.objects.filter(person_id=person_id, journey_key=key)
    if past.filter(status__in=JourneyInstance.LIVE).exists():
        return None
    if rule == "never" and past.exists():
        return None
    if rule == "per_subject" and subject_id and past.filter(subject_id=subject_id).exists():
        return None
    now = clock.now()
    ctx = dict(context or {})
    try:
        with transaction.atomic():
            return JourneyInstance.objects.create(definition=definition, journey_key=key, person_id=person_id,
                                                  subject_id=subject_id, node=definition.spec["start"],
                                                  next_wake_at=now, context=ctx, entered_at=now, updated_at=now)
    except IntegrityError:  # the unique index: someone else started it in the meantime
        return None


def start_for_event(event: str, person_id: int, subject_id: int | None = None,
                    context: dict[str, Any] | None = None) -> list[JourneyInstance]:
    started = []
    for definition in current_definitions():
        entry = definition.spec["entry"]
        if entry["type"] == "event" and entry["event"] == event:
            instance = start(definition.key, person_id, subject_id=subject_id, context=context)
            if instance:
                started.append(instance)
    return started


# --- events from other capabilities ---------------------------------------------------------
def on_event(event: str, person_id: int, instance_id: int | None = None, **payload: Any) -> None:
    """Every declared event (journeys' listener): the person's live instances hear it, and journeys entered by
    this event start. An event about no registered person (person 0: a bounce from a subscriber's address) has no
    journey to reach."""
    if not person_id:
        return
    signal(event, person_id, instance_id=instance_id, payload=payload)
    start_for_event(event, person_id, subject_id=payload.get("subject_id"))


def signal(event: str, person_id: int, instance_id: int | None = None, payload: dict[str, Any] | None = None,
           journey_key: str | None = None) -> int:
    """Record an event for a person's live instances (or one of them) and wake those waiting for it."""
    now = clock.now()
    woken = 0
    with transaction.atomic():
        instances = JourneyInstance.objects.select_for_update().filter(person_id=person_id,
                                                                      status__in=JourneyInstance.LIVE)
        if instance_id is not None:
            instances = instances.filter(pk=instance_id)
        if journey_key is not None:
            instances = instances.filter(journey_key=journey_key)
        for instance in instances:
            context = dict(instance.context or {})
            seen = dict(context.get("evenements") or {})
            seen[event] = now.isoformat()
            context["evenements"] = seen
            for key in ("appointment_id", "request_id"):
                if payload and payload.get(key) is not None:
                    context[key] = payload[key]
            inbox = [*(instance.inbox or []), event][-INBOX_SIZE:]
            fields = {"context": context, "inbox": inbox, "updated_at": now}
            if instance.status == "active" and event in (instance.waiting_for or []):
                fields.update(pending_event=event, next_wake_at=now)
                woken += 1
            JourneyInstance.objects.filter(pk=instance.pk).update(**fields)
            JourneyEvent.objects.create(instance=instance, at=now, kind="signal", node=instance.node,
                                        detail={"event": event, **({k: v for k, v in (payload or {}).items()
                                                                    if isinstance(v, (int, str))})})
    return woken


# --- takeover -------------------------------------------------------------------------------
def _instance_for(access: Access, instance_id: int, lock: bool = True) -> JourneyInstance:
    """The instance, checked against the agent's rights; locked for the surrounding transaction (a takeover
    waits for an engine batch holding it, then acts on the state that batch wrote)."""
    access.require(Section.PARCOURS)
    rows = JourneyInstance.objects.select_related("definition")
    instance = (rows.select_for_update(of=("self",)) if lock else rows).get(pk=instance_id)
    if access.sandbox and not registry.synthetic_person_ids([instance.person_id]):
        raise JourneyInstance.DoesNotExist("a test key reaches only synthetic residents")
    try:
        check_service(access.actor, instance.definition)
    except JourneyDefinition.DoesNotExist:
        raise JourneyInstance.DoesNotExist(f"parcours {instance_id} inconnu") from None
    return instance


def _log_takeover(access: Access, instance: JourneyInstance, action: str, reason: str, **detail: Any) -> None:
    if not reason.strip():
        raise TakeoverError("indiquez le motif de l'intervention", field="reason")
    JourneyEvent.objects.create(instance=instance, at=clock.now(), kind="takeover", node=instance.node,
                                detail={"action": action, "reason": reason.strip()[:500], **detail},
                                actor=access.actor.label)
    audit.record(access.actor, "journey_takeover", purpose=access.purpose, person_ids=[instance.person_id],
                 sections=[Section.PARCOURS.value], detail={"instance": instance.pk, "action": action})


def pause(access: Access, instance_id: int, reason: str) -> None:
    with transaction.atomic():
        instance = _instance_for(access, instance_id)
        if instance.status != "active":
            raise TakeoverError("seul un parcours en cours peut être mis en pause")
        _log_takeover(access, instance, "pause", reason)
        JourneyInstance.objects.filter(pk=instance.pk).update(status="paused", updated_at=clock.now())


def resume(access: Access, instance_id: int, reason: str) -> None:
    now = clock.now()
    with transaction.atomic():
        instance = _instance_for(access, instance_id)
        if instance.status != "paused":
            raise TakeoverError("ce parcours n'est pas en pause")
        _log_takeover(access, instance, "resume", reason)
        wake = max(instance.next_wake_at or now, now)
        JourneyInstance.objects.filter(pk=instance.pk).update(status="active", next_wake_at=wake, updated_at=now)


def send_now(access: Access, instance_id: int, reason: str, *, template: str, channels: list[str] | None = None,
             text: str = "", at: datetime | None = None) -> int:
    """An extra message now (or at `at`: a reminder), outside the journey's own steps."""
    with transaction.atomic():
        instance = _instance_for(access, instance_id)
        if instance.status not in JourneyInstance.LIVE:
            raise TakeoverError("ce parcours est terminé")
        spec = instance.definition.spec
        action = "reminder" if at else "send"
        _log_takeover(access, instance, action, reason, template=template, at=at.isoformat() if at else None)
        context = {k: v for k, v in (instance.context or {}).items() if k in engine.message_context_keys()}
        if text:
            context["texte"] = text
        key = f"j{instance.pk}:agent:{uuid.uuid4().hex[:12]}"
        purpose = _link_purpose(spec, template)
        if purpose and messaging.uses_placeholder(template, "lien"):
            [context["lien_id"]] = messaging.create_links([messaging.LinkRequest(
                purpose, instance.person_id, instance_id=instance.pk, payload={"subject_id": instance.subject_id},
                message_key=key)])
        keys = messaging.send([messaging.MessageSpec(
            key, instance.person_id, template, spec["purpose"],
            spec["service"], lane="transactional", policy=channels or ["preferred"], context=context, not_before=at,
            trigger="agent", instance_id=instance.pk, step=f"intervention:{action}")])
    return next(iter(keys.values()))


def _link_purpose(spec: dict[str, Any], template: str) -> str | None:
    """The citizen link an extra message carries: the one the journey's step sending that template carries,
    else the journey's first link."""
    links = [(n.get("template"), n["link"]) for n in spec["nodes"].values() if n["type"] == "send" and n.get("link")]
    return next((purpose for t, purpose in links if t == template), links[0][1] if links else None)


def jump(access: Access, instance_id: int, node: str, reason: str) -> None:
    now = clock.now()
    with transaction.atomic():
        instance = _instance_for(access, instance_id)
        if node not in instance.definition.spec["nodes"]:
            raise TakeoverError(f"étape inconnue : {node}", field="node")
        if instance.status not in JourneyInstance.LIVE:
            raise TakeoverError("ce parcours est terminé")
        _log_takeover(access, instance, "jump", reason, to=node, **{"from": instance.node})
        JourneyInstance.objects.filter(pk=instance.pk).update(node=node, pending_event=domain.ENTER, waiting_for=[],
                                                              next_wake_at=now, updated_at=now,
                                                              steps=max(1, instance.steps))


def exit_instance(access: Access, instance_id: int, reason: str) -> None:
    now = clock.now()
    with transaction.atomic():
        instance = _instance_for(access, instance_id)
        if instance.status not in JourneyInstance.LIVE:
            raise TakeoverError("ce parcours est déjà terminé")
        _log_takeover(access, instance, "exit", reason)
        JourneyInstance.objects.filter(pk=instance.pk).update(status="exited", outcome="sortie décidée par un agent",
                                                              next_wake_at=None, ended_at=now, updated_at=now)


TAKEOVER_ACTIONS = ("pause", "resume", "send", "reminder", "jump", "exit")


def takeover(access: Access, instance_id: int, action: str, reason: str, *, template: str = "",
             channel: str = "", text: str = "", at: datetime | None = None, node: str = "") -> int | None:
    """One agent action on an instance (interface and API alike); returns the message id for send/reminder."""
    if action == "pause":
        pause(access, instance_id, reason)
    elif action == "resume":
        resume(access, instance_id, reason)
    elif action in ("send", "reminder"):
        if channel and channel not in ("preferred", *capabilities.channels(sent=True)):
            raise TakeoverError(f"canal inconnu « {channel} » (preferred, "
                                f"{', '.join(capabilities.channels(sent=True))})", field="channel")
        if not template:
            raise TakeoverError("choisissez le modèle du message", field="template")
        if action == "reminder" and (at is None or at <= clock.now()):
            raise TakeoverError("la relance doit être programmée dans le futur", field="at")
        return send_now(access, instance_id, reason, template=template, channels=[channel or "preferred"],
                        text=text, at=at if action == "reminder" else None)
    elif action == "jump":
        jump(access, instance_id, node, reason)
    elif action == "exit":
        exit_instance(access, instance_id, reason)
    else:
        raise TakeoverError(f"action inconnue « {action} » ({', '.join(TAKEOVER_ACTIONS)})")
    return None


def takeover_templates() -> list[str]:
    """Templates an agent may send from a journey: every published one."""
    return sorted(published_template_keys())


# --- reading --------------------------------------------------------------------------------
def get_instance(access: Access, instance_id: int) -> JourneyInstance:
    instance = _instance_for(access, instance_id, lock=False)
    audit.record(access.actor, "view", purpose=access.purpose, person_ids=[instance.person_id],
                 sections=[Section.PARCOURS.value], detail={"instance": instance.pk})
    return instance


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # step | message | reply | task | takeover | signal
    title: str
    detail: str = ""
    status: str = ""
    actor: str = ""


def timeline(instance: JourneyInstance) -> list[TimelineEntry]:
    nodes = instance.definition.spec["nodes"]
    entries: list[TimelineEntry] = []
    for event in instance.events.all():
        detail = event.detail or {}
        if event.kind == "advance":
            for fact in detail.get("facts", []):
                label = {"entered": "Entrée dans le parcours", "event": f"Événement reçu : {fact.get('event', '')}",
                         "timeout": "Date prévue atteinte" if fact.get("until") else "Délai écoulé sans réponse",
                         "goal": f"Objectif atteint : {fact.get('goal', '')}",
                         "completed": "Parcours terminé", "exit": f"Sortie : {fact.get('reason', '')}",
                         "no_recipient": f"Message non envoyé : aucun destinataire « {fact.get('label', '')} »",
                         "error": f"Erreur : {fact.get('error', '')}"}.get(fact["kind"], fact["kind"])
                entries.append(TimelineEntry(event.at, "step", label))
            for node in detail.get("path", []):
                entries.append(TimelineEntry(event.at, "step", f"Étape « {nodes.get(node, {}).get('label', node)} »"))
        elif event.kind == "takeover":
            entries.append(TimelineEntry(event.at, "takeover", TAKEOVER_LABELS.get(detail.get("action", ""), "Action"),
                                         detail.get("reason", ""), actor=event.actor))
        elif event.kind == "signal":
            declared = capabilities.events().get(detail.get("event", ""))
            entries.append(TimelineEntry(event.at, "signal", declared.label if declared else detail.get("event", "")))
    for message in messaging.messages_for_instance(instance.pk):
        when = message.sent_at or message.not_before or message.created_at
        # a message to a contact value (`to:` a declared recipient) has no person: said so, its address unshown
        whom = "" if message.person_id is not None else " à un contact"
        label = f"Message {message.channel or '(canal à choisir)'}{whom} — {message.template_key}"
        entries.append(TimelineEntry(when, "message", label, message.body or message.error,
                                     status=message.get_status_display()))
    for reply in messaging.replies_for_instance(instance.pk):
        who = "Réponse de l'habitant" if reply.person_id == instance.person_id else "Réponse d'un contact"
        entries.append(TimelineEntry(reply.received_at, "reply", who, reply.body))
    for task in instance.tasks.all():
        entries.append(TimelineEntry(task.created_at, "task", f"Tâche : {task.title}", task.note,
                                     status=task.get_status_display()))
    return sorted(entries, key=lambda e: e.at)


TAKEOVER_LABELS = {"pause": "Mis en pause par un agent", "resume": "Repris par un agent",
                   "send": "Message supplémentaire envoyé par un agent", "reminder": "Relance programmée par un agent",
                   "jump": "Déplacé à une autre étape par un agent", "exit": "Arrêté par un agent"}


def instances(key: str = "", node: str = "", status: str = "") -> QuerySet[JourneyInstance]:
    qs = JourneyInstance.objects.select_related("definition")
    if key:
        qs = qs.filter(journey_key=key)
    if node:
        qs = qs.filter(node=node)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at", "-id")


def funnel(key: str) -> dict[str, Any]:
    """Per node: instances that went through it and instances there now; statuses; conversions."""
    nodes_spec = definition_by_key(key).spec["nodes"]
    visits = dict(NodeVisit.objects.filter(definition__key=key).values_list("node").annotate(n=Sum("count"))
                  .values_list("node", "n"))
    here = dict(JourneyInstance.objects.filter(journey_key=key, status__in=JourneyInstance.LIVE)
                .values_list("node").annotate(n=Count("id")).values_list("node", "n"))
    statuses = dict(JourneyInstance.objects.filter(journey_key=key).values_list("status").annotate(n=Count("id"))
                    .values_list("status", "n"))
    entered = sum(statuses.values())
    outcomes = dict(JourneyInstance.objects.filter(journey_key=key).exclude(outcome="").values_list("outcome")
                    .annotate(n=Count("id")).values_list("outcome", "n"))
    conversions = {event: JourneyInstance.objects.filter(journey_key=key, context__evenements__has_key=event).count()
                   for event in ("link_clicked", "appointment_booked", "document_ready", "document_collected")}
    return {"key": key, "entered": entered, "statuses": statuses, "outcomes": outcomes,
            "nodes": [{"node": n, "label": spec.get("label", n), "visited": visits.get(n, 0), "now": here.get(n, 0)}
                      for n, spec in nodes_spec.items()],
            "conversions": {e: {"count": c, "rate": round(100 * c / entered, 1) if entered else 0.0}
                            for e, c in conversions.items()}}


def person_instances(person_id: int) -> QuerySet[JourneyInstance]:
    return JourneyInstance.objects.filter(person_id=person_id).select_related("definition").order_by("-entered_at")


# --- tasks ----------------------------------------------------------------------------------
def open_tasks(service: str | None) -> QuerySet[AgentTask]:
    qs = AgentTask.objects.filter(status="open").select_related("instance").order_by("due_at")
    return qs.filter(service=service) if service else qs


def home_tasks(access: Access) -> dict[str, Any]:
    """The home page's block: the service's open tasks, how many are late, the five most urgent (no names)."""
    tasks = open_tasks(access.actor.service)
    now = clock.now()
    return {"open": tasks.count(), "late": tasks.filter(due_at__lt=now).count(), "now": now,
            "next": list(tasks.values("title", "due_at")[:5])}


def complete_task(access: Access, task_id: int, note: str = "") -> None:
    now = clock.now()
    with transaction.atomic():
        task = AgentTask.objects.select_for_update().get(pk=task_id)
        if access.actor.service is not None and task.service != access.actor.service:
            raise AccessDenied("cette tâche relève d'un autre service")
        if task.status != "open":
            raise TakeoverError("cette tâche est déjà close")
        AgentTask.objects.filter(pk=task_id).update(status="done", done_at=now, done_by=access.actor.label,
                                                    note=note[:2000])
        audit.record(access.actor, "change", purpose=access.purpose, person_ids=[task.person_id],
                     sections=[Section.PARCOURS.value], detail={"task": task_id})
        signal("task_done", task.person_id, instance_id=task.instance_id)


# --- versions -------------------------------------------------------------------------------
def migrate_instances(key: str, to_version: int, mapping: dict[str, str], from_version: int | None = None) -> int:
    """Move live instances of older versions to `to_version`, mapping their current nodes (explicitly: a
    node without a mapping and absent from the new version stops the migration)."""
    target = JourneyDefinition.objects.filter(key=key, version=to_version).first()
    if target is None:
        raise DefinitionError([f"parcours « {key} » sans version {to_version}"])
    new_nodes = target.spec["nodes"]
    qs = JourneyInstance.objects.filter(journey_key=key, status__in=JourneyInstance.LIVE).exclude(
        definition=target)
    if from_version is not None:
        qs = qs.filter(definition__version=from_version)
    current = set(qs.values_list("node", flat=True))
    missing = sorted(n for n in current if mapping.get(n, n) not in new_nodes)
    if missing:
        raise DefinitionError([f"étape sans correspondance dans la version {to_version} : {n}" for n in missing])
    moved = 0
    now = clock.now()
    with transaction.atomic():
        for node in current:
            count = qs.filter(node=node).update(definition=target, node=mapping.get(node, node), updated_at=now)
            moved += count
    engine._specs.pop(target.pk, None)
    log.info("journey instances migrated", key=key, to_version=to_version, moved=moved)
    return moved


def summary() -> dict[str, Any]:
    return {"instances": dict(Counter(JourneyInstance.objects.values_list("status", flat=True))),
            "definitions": JourneyDefinition.objects.filter(status="published").count()}



def log_person_list(access: Access, person_ids: list[int], what: str) -> None:
    """A list naming residents (the task inbox, a journey's instances): a logged read."""
    ids = sorted(set(person_ids))
    if ids:
        audit.record(access.actor, "view", purpose=access.purpose, person_ids=ids,
                     sections=[Section.PARCOURS.value], detail={"list": what})


def person_panel(person_id: int) -> dict[str, Any]:
    """What the person file shows of a resident's journeys and latest messages."""
    names = messaging.template_names()
    messages = list(messaging.person_messages(person_id)[:10])
    for m in messages:
        m.template_name = names.get(m.template_key, m.template_key)
    return {"instances": list(person_instances(person_id)[:10]), "messages": messages}


def simulation_report() -> dict[str, Any]:
    """Per journey: instances per status, per node (went through, there now), conversions; and the timeline
    of one resident who went all the way, as an example to follow."""
    out: dict[str, Any] = {}
    for definition in current_definitions():
        f = funnel(definition.key)
        out[definition.key] = {"entered": f["entered"], "statuses": f["statuses"], "outcomes": f["outcomes"],
                               "nodes": {n["node"]: {"visited": n["visited"], "now": n["now"]} for n in f["nodes"]},
                               "conversions": f["conversions"]}
    example = example_instance()
    if example is not None:
        out["exemple"] = {"instance": example.pk, "person": example.person_id, "journey": example.journey_key,
                          "timeline": [f"{e.at.astimezone(clock.local_tz()):%Y-%m-%d %H:%M} {e.kind}: {e.title}"
                                       + (f" [{e.status}]" if e.status else "") for e in timeline(example)]}
    return out


def example_instance(key: str = "titres-identite") -> JourneyInstance | None:
    """A finished instance that went through the reminder and ended with the title collected (else the
    most advanced one): the story a demo tells."""
    done = JourneyInstance.objects.filter(journey_key=key, status="completed",
                                          outcome__in=("titre remis", "titre renouvelé"))
    by_sms = messaging.instances_with_message(key, "titre.pret", "sms")
    if by_sms:  # the story told in the brief: the "ready" message by SMS
        done = done.filter(pk__in=by_sms)
    reminded = done.filter(events__kind="advance", events__detail__path__contains=["relance"]).order_by("pk")
    if connection.vendor == "sqlite":  # no JSON containment on SQLite: test in Python
        reminded = [i for i in done.order_by("pk")[:500] if any(
            "relance" in (e.detail or {}).get("path", []) for e in i.events.filter(kind="advance"))]
        return reminded[0] if reminded else done.order_by("pk").first()
    return reminded.first() or done.order_by("pk").first()


def nodes_of(instance_ids: list[int]) -> dict[int, str]:
    """The node each of these instances is at (or ended on)."""
    ids = [i for i in instance_ids if i]
    return dict(JourneyInstance.objects.filter(pk__any=ids).values_list("id", "node")) if ids else {}


def stop_instances(instance_ids: list[int], reason: str) -> int:
    """End these instances if they are still live (their capability decided: a plan lifted, a person removed
    from a register), with `reason` as their outcome and a row in their log; returns how many stopped."""
    now = clock.now()
    with transaction.atomic():
        live = list(JourneyInstance.objects.select_for_update().filter(
            pk__any=[i for i in instance_ids if i], status__in=JourneyInstance.LIVE).values_list("id", "node"))
        JourneyInstance.objects.filter(pk__any=[pk for pk, _ in live]).update(
            status="exited", outcome=reason[:100], next_wake_at=None, ended_at=now, updated_at=now)
        JourneyEvent.objects.bulk_create([JourneyEvent(instance_id=pk, at=now, kind="exit", node=node,
                                                       detail={"reason": reason}) for pk, node in live])
    return len(live)
