"""The rules on the readings, and the alerts they raise (issue 18): every new reading is fed, in time order, to the
person's rules (`watch.rules`, their memory kept in `RuleState`); a finding opens an alert — one open alert per
(person, rule), a later finding of the same rule only raises its severity — which an agent acknowledges and
resolves with a note, each act written in the access log naming the person."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction

from proactif.accounts.domain import Actor, Section
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.watch import _bulk as bulk
from proactif.watch import _escalation as escalation
from proactif.watch import _thresholds as thresholds
from proactif.watch import domain, rules
from proactif.watch.models import Alert, Device, RuleState

VITALS = frozenset(rules.VITALS)
RANK = {"info": 0, "warning": 1, "critical": 2}


class AlertError(ValueError):
    pass


def evaluate(rows: list[tuple[Any, ...]]) -> list[Alert]:
    """Feed new readings — (device id, person id, code, at, value, …) — to their persons' rules, in time order,
    and open or raise the alerts they find. Runs in the ingestion's transaction."""
    by_person: dict[int, dict[tuple[datetime, int], dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for device_id, person_id, code, at, value, *_ in rows:
        if person_id is not None:
            by_person[person_id][(at, device_id)][code] = value
    if not by_person:
        return []
    devices = {pk: (serial, interval) for pk, serial, interval in Device.objects.filter(
        pk__any=list({d for person in by_person.values() for _, d in person})).values_list(
        "id", "serial", "expected_interval_s")}
    # the persons' own thresholds, read once for the whole batch (most persons have none: the default programme)
    evaluator = rules.Evaluator(per_person={str(pid): t for pid, t in thresholds.effective(list(by_person)).items()})
    opened: list[Alert] = []
    kept = dict(RuleState.objects.select_for_update().filter(person_id__any=sorted(by_person)).order_by(
        "person_id").values_list("person_id", "state"))  # one query, rows locked in one order (no deadlock)
    for person_id, moments in by_person.items():
        key = str(person_id)
        if person_id in kept:
            evaluator.states[key] = rules.PersonState.from_json(kept[person_id])
        findings: list[rules.Finding] = []
        for (at, device_id), values in sorted(moments.items(), key=lambda item: item[0][0]):
            serial, interval = devices.get(device_id, ("", 0))
            findings += evaluator.feed(rules.Reading(
                person=key, at=at, device=serial, vitals={c: v for c, v in values.items() if c in VITALS},
                motion=any(values.get(code, 0) > 0 for code in ("motion", "presence", "ok_button")),
                fall=values.get("fall", 0) > 0,
                interval=timedelta(seconds=interval) if interval else None))
        opened += [alert for finding in findings if (alert := open_alert(person_id, finding)) is not None]
    _keep_states({person_id: evaluator.state(str(person_id)).to_json() for person_id in by_person})
    return opened


def _keep_states(states: dict[int, str]) -> None:
    """Write the persons' rule memories back, one upsert for the batch."""
    now = connection.ops.adapt_datetimefield_value(clock.now())
    bulk.insert("watch_rulestate", (("person_id", "bigint"), ("state", "text"), ("updated_at", "timestamptz")),
                [(person_id, state, now) for person_id, state in sorted(states.items())],
                "ON CONFLICT (person_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at")


TICK_CHUNK = 500  # persons a transaction in the periodic check


def tick(now: datetime | None = None) -> dict[str, int]:
    """The rules that fire on silence — a device that stopped reporting, a person not up at the usual time, no
    movement for hours — for every person the rules remember (the periodic job, every five minutes). Persons go
    `TICK_CHUNK` a transaction: their memories read and locked in one query, the changed ones written in one."""
    now = now or clock.now()
    opened = checked = 0
    persons = sorted(RuleState.objects.values_list("person_id", flat=True))
    own = {str(pid): t for pid, t in thresholds.effective(persons).items()}  # one query for every person
    for start in range(0, len(persons), TICK_CHUNK):
        with transaction.atomic():
            kept = dict(RuleState.objects.select_for_update().filter(
                person_id__any=persons[start:start + TICK_CHUNK]).order_by("person_id").values_list(
                "person_id", "state"))
            evaluator = rules.Evaluator(per_person={key: own[key] for key in map(str, kept) if key in own})
            for person_id, state in kept.items():
                evaluator.states[str(person_id)] = rules.PersonState.from_json(state)
            findings = evaluator.tick(now)  # every person of the chunk at once
            checked += len(kept)
            raised = sorted({int(f.person) for f in findings})
            _keep_states({person_id: evaluator.state(str(person_id)).to_json() for person_id in raised})
            opened += sum(1 for f in findings if open_alert(int(f.person), f) is not None)
    return {"persons": checked, "opened": opened}


def open_alert(person_id: int, finding: rules.Finding) -> Alert | None:
    """The open alert of (person, rule) — created, or its severity raised; None when nothing changed."""
    current = Alert.objects.filter(person_id=person_id, rule=finding.rule).exclude(status="resolue").first()
    if current is not None:
        if RANK[finding.severity] > RANK[current.severity]:
            Alert.objects.filter(pk=current.pk).update(severity=finding.severity, message=finding.message_fr[:300],
                                                       value=finding.value)
            current.refresh_from_db()
            escalation.escalate(current)
            return current
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                person_id=person_id, rule=finding.rule[:80], severity=finding.severity, vital=finding.vital or "",
                value=finding.value, message=finding.message_fr[:300], found_at=finding.at, opened_at=clock.now())
    except IntegrityError:  # opened meanwhile by another ingester
        return None
    escalation.escalate(alert)
    return alert


def _log(actor: Actor, alert: Alert, action: str) -> None:
    audit.record(actor, action, purpose=domain.PURPOSE, person_ids=[alert.person_id],
                 sections=[Section.VEILLE.value], detail={"alerte": alert.pk, "regle": alert.rule})


def acknowledge(actor: Actor, alert_id: int, note: str = "") -> Alert:
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise AlertError(f"alerte {alert_id} inconnue")
        if alert.status != "ouverte":
            raise AlertError("cette alerte est déjà acquittée ou résolue")
        Alert.objects.filter(pk=alert.pk).update(status="acquittee", acknowledged_at=clock.now(),
                                                 acknowledged_by=actor.label, note=note.strip()[:500] or alert.note)
        alert.refresh_from_db()
        _log(actor, alert, "acknowledge")
        escalation.stopped(alert, "alerte_acquittee")
    return alert


def resolve(actor: Actor, alert_id: int, note: str) -> Alert:
    if not note.strip():
        raise AlertError("une alerte se résout avec une note (ce qui a été constaté ou fait)")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise AlertError(f"alerte {alert_id} inconnue")
        if alert.status == "resolue":
            raise AlertError("cette alerte est déjà résolue")
        Alert.objects.filter(pk=alert.pk).update(status="resolue", resolved_at=clock.now(), resolved_by=actor.label,
                                                 note=note.strip()[:500])
        alert.refresh_from_db()
        _log(actor, alert, "resolve")
        escalation.stopped(alert, "alerte_resolue")
    return alert


def time_to_acknowledge(since: datetime) -> dict[str, float | int]:
    """Acknowledged alerts opened since `since`: how many, and the median and p95 minutes to acknowledge."""
    delays = sorted((a - o).total_seconds() / 60 for o, a in Alert.objects.filter(
        opened_at__gte=since, acknowledged_at__isnull=False).values_list("opened_at", "acknowledged_at"))
    if not delays:
        return {"acknowledged": 0}
    return {"acknowledged": len(delays), "median_min": round(delays[len(delays) // 2], 1),
            "p95_min": round(delays[min(len(delays) - 1, int(len(delays) * 0.95))], 1)}
