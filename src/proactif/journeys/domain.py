"""Journey definitions and the stepping of one instance, as pure functions.

A definition is a YAML document compiled into a plain dict once, checked for every mistake an author can
make: unknown or unreachable node, missing next step, bad duration or offset, unknown event, bad condition.
`step` then moves one instance from where it woke up to the next place it must wait, returning what to do
(messages, tasks, events) without touching the database: the engine applies a whole batch at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import yaml

DEFAULT_TZ = ZoneInfo("Europe/Paris")  # the engine passes the collectivité's zone (clock.local_tz())
NODE_TYPES = ("send", "wait", "wait_for_event", "branch", "task", "goal", "end")
NODE_TYPE_LABELS = {"send": "message", "wait": "attente", "wait_for_event": "attente d'un événement",
                    "branch": "aiguillage", "task": "tâche d'agent", "goal": "objectif", "end": "fin"}
CHANNEL_CHOICES = ("preferred", "any")  # besides the channels messaging declares
ENTRY_TYPES = ("date", "event", "segment")
DAY_NAMES = {"lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6,
             "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
UNITS = {"minute": "minutes", "minutes": "minutes", "heure": "hours", "heures": "hours", "hour": "hours",
         "hours": "hours", "jour": "days", "jours": "days", "day": "days", "days": "days", "semaine": "weeks",
         "semaines": "weeks", "week": "weeks", "weeks": "weeks", "mois": "months", "month": "months",
         "months": "months", "an": "years", "ans": "years", "année": "years", "années": "years", "year": "years",
         "years": "years"}
MAX_STEPS = 50
ENTER = "__enter__"  # pending event set by an agent's jump: enter the current node afresh


class DefinitionError(ValueError):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # minutes | hours | days | weeks | months | years

    def add_to(self, moment: datetime, tz: tzinfo = DEFAULT_TZ) -> datetime:
        """`moment` later by this duration; months and years keep the local time of day (in `tz`)."""
        if self.unit in ("months", "years"):
            months = self.amount * (12 if self.unit == "years" else 1)
            return add_months(moment, months, tz)
        return moment + timedelta(**{self.unit: self.amount})

    def add_to_date(self, day: date) -> date:
        if self.unit in ("months", "years"):
            return add_months_date(day, self.amount * (12 if self.unit == "years" else 1))
        return day + timedelta(**{self.unit: self.amount})

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


def add_months_date(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def add_months(moment: datetime, months: int, tz: tzinfo = DEFAULT_TZ) -> datetime:
    local = moment.astimezone(tz)
    shifted = add_months_date(local.date(), months)
    return datetime.combine(shifted, local.timetz().replace(tzinfo=None), tz)


def parse_duration(text: Any, where: str) -> Duration:
    match = re.fullmatch(r"\s*([+-]?\d+)\s*([a-zéè]+)\s*", str(text or "").lower())
    if not match or match.group(2) not in UNITS:
        raise DefinitionError([f"{where} : durée illisible « {text} » (ex. « 15 days », « 6 mois »)"])
    return Duration(int(match.group(1)), UNITS[match.group(2)])


# An expression "document.expires_on - 6 months": a date field and an offset.
_DATE_EXPR = re.compile(r"^\s*([a-z_]+\.[a-z_]+)\s*(?:([+-])\s*(\d+\s*[a-zéè]+))?\s*$")


def parse_date_expression(text: str, where: str) -> tuple[str, Duration | None]:
    match = _DATE_EXPR.match(str(text or "").lower())
    if not match:
        raise DefinitionError([f"{where} : expression de date illisible « {text} » "
                               f"(ex. « document.expires_on - 6 months »)"])
    field_name, sign, amount = match.groups()
    if not sign:
        return field_name, None
    duration = parse_duration(amount, where)
    return field_name, Duration(-duration.amount if sign == "-" else duration.amount, duration.unit)


def parse_window(spec: Any, where: str) -> dict[str, Any] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise DefinitionError([f"{where} : la fenêtre d'envoi est un objet {{days, hours}}"])
    days_text = str(spec.get("days", "mon-sat")).lower()
    days: list[int] = []
    for part in days_text.split(","):
        part = part.strip()
        if "-" in part:
            start, end = (p.strip()[:3] for p in part.split("-"))
            if start not in DAY_NAMES or end not in DAY_NAMES:
                raise DefinitionError([f"{where} : jours illisibles « {days_text} »"])
            days += list(range(DAY_NAMES[start], DAY_NAMES[end] + 1))
        elif part[:3] in DAY_NAMES:
            days.append(DAY_NAMES[part[:3]])
        else:
            raise DefinitionError([f"{where} : jour inconnu « {part} »"])
    hours = str(spec.get("hours", "09:00-18:00"))
    try:
        start_text, end_text = (h.strip() for h in hours.split("-"))
        opens, closes = time.fromisoformat(start_text), time.fromisoformat(end_text)
    except ValueError:
        raise DefinitionError([f"{where} : heures illisibles « {hours} » (HH:MM-HH:MM)"]) from None
    if opens >= closes:
        raise DefinitionError([f"{where} : la fenêtre {hours} est vide"])
    return {"days": sorted(set(days)), "start": opens.isoformat(), "end": closes.isoformat()}


def compile_definition(source: str, *, known_events: Collection[str], known_channels: Collection[str],
                       templates: set[str] | None = None, check_condition: Callable[[str], None] | None = None,
                       segments: set[str] | None = None,
                       known_recipients: Collection[str] = ()) -> dict[str, Any]:
    """The YAML source as a checked plain dict; raises DefinitionError listing every problem found.
    `known_events`, `known_channels` and `known_recipients` (the codes a send node's `to:` may name) are those the
    capabilities declare; `templates` (published template keys) and `check_condition` are checked when given."""
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise DefinitionError([f"YAML illisible : {exc}"]) from None
    if not isinstance(raw, dict):
        raise DefinitionError(["la définition doit être un objet YAML"])
    problems: list[str] = []

    def attempt(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except DefinitionError as exc:
            problems.extend(exc.messages)
            return None

    for required in ("key", "name", "service", "purpose", "start", "nodes", "entry"):
        if required not in raw:
            problems.append(f"champ obligatoire absent : {required}")
    if problems:
        raise DefinitionError(problems)
    nodes_in = raw["nodes"]
    if not isinstance(nodes_in, dict) or not nodes_in:
        raise DefinitionError(["« nodes » doit lister au moins une étape"])
    nodes: dict[str, dict[str, Any]] = {}
    references: list[tuple[str, str]] = []

    def ref(node_name: str, target: Any, label: str) -> str | None:
        if target is None:
            problems.append(f"étape « {node_name} » : {label} manquant")
            return None
        references.append((node_name, str(target)))
        return str(target)

    for name, node in nodes_in.items():
        where = f"étape « {name} »"
        if not isinstance(node, dict) or node.get("type") not in NODE_TYPES:
            problems.append(f"{where} : type inconnu « {node.get('type') if isinstance(node, dict) else node} » "
                            f"({', '.join(NODE_TYPES)})")
            continue
        kind = node["type"]
        out: dict[str, Any] = {"type": kind, "label": str(node.get("label", name))}
        if kind == "send":
            out["template"] = node.get("template")
            if not out["template"]:
                problems.append(f"{where} : modèle manquant")
            elif templates is not None and out["template"] not in templates:
                problems.append(f"{where} : modèle « {out['template']} » introuvable ou non publié")
            channels = node.get("channels", ["preferred"])
            channels = [channels] if isinstance(channels, str) else list(channels)
            unknown = [c for c in channels if c not in CHANNEL_CHOICES and c not in known_channels]
            if unknown:
                problems.append(f"{where} : canal inconnu « {unknown[0]} » "
                                f"({', '.join([*CHANNEL_CHOICES, *known_channels])})")
            out["channels"] = channels
            out["window"] = attempt(parse_window, node.get("window"), where)
            out["link"] = node.get("link")
            out["lane"] = node.get("lane")
            if node.get("to") is not None:
                out["to"] = str(node["to"])
                problems.extend(_to_problems(where, out, known_recipients))
            out["next"] = ref(name, node.get("next"), "étape suivante (next)")
        elif kind == "wait":
            if "duration" in node:
                out["duration"] = attempt(parse_duration, node["duration"], where)
            elif "until" in node:
                out["until"] = attempt(parse_date_expression, node["until"], where)
            else:
                problems.append(f"{where} : « duration » ou « until » manquant")
            out["next"] = ref(name, node.get("next"), "étape suivante (next)")
        elif kind == "wait_for_event":
            events = node.get("events") or []
            events = [events] if isinstance(events, str) else list(events)
            for event in events:
                if event not in known_events:
                    problems.append(f"{where} : événement inconnu « {event} » ({', '.join(known_events)})")
            if not events:
                problems.append(f"{where} : aucun événement attendu")
            out["events"] = events
            if "until" in node:
                out["until"] = attempt(parse_date_expression, node["until"], where)
            else:
                out["timeout"] = attempt(parse_duration, node.get("timeout"), where)
            on_event = node.get("on_event")
            if isinstance(on_event, dict):
                out["on_event"] = {str(e): ref(name, t, f"suite de l'événement {e}") for e, t in on_event.items()}
                for e in on_event:
                    if e not in events:
                        problems.append(f"{where} : on_event « {e} » n'est pas attendu")
            else:
                target = ref(name, on_event, "suite de l'événement (on_event)")
                out["on_event"] = dict.fromkeys(events, target)
            out["on_timeout"] = ref(name, node.get("on_timeout"), "suite du délai (on_timeout)")
        elif kind == "branch":
            cases = []
            for case in node.get("cases") or []:
                if not isinstance(case, dict) or "when" not in case:
                    problems.append(f"{where} : chaque cas a une condition « when »")
                    continue
                if check_condition:
                    attempt(check_condition, str(case["when"]))
                cases.append({"when": str(case["when"]), "next": ref(name, case.get("next"), "suite du cas")})
            if not cases:
                problems.append(f"{where} : aucun cas")
            out["cases"] = cases
            out["default"] = ref(name, node.get("default"), "suite par défaut (default)")
        elif kind == "task":
            out["title"] = str(node.get("title") or "")
            if not out["title"]:
                problems.append(f"{where} : intitulé de la tâche manquant")
            out["service"] = str(node.get("service") or raw.get("service"))
            out["due"] = attempt(parse_duration, node.get("due", "7 days"), where)
            out["next"] = ref(name, node.get("next"), "étape suivante (next)")
        elif kind == "goal":
            out["when"] = str(node.get("when") or "")
            if not out["when"]:
                problems.append(f"{where} : condition « when » manquante")
            elif check_condition:
                attempt(check_condition, out["when"])
            out["next"] = ref(name, node.get("next"), "étape suivante (next)")
        elif kind == "end":
            out["outcome"] = str(node.get("outcome", "termine"))
        nodes[name] = out
    for source_node, target in references:
        if target not in nodes_in:
            problems.append(f"étape « {source_node} » : étape inconnue « {target} »")
    start = str(raw["start"])
    if start not in nodes_in:
        problems.append(f"étape de départ inconnue « {start} »")
    else:
        reachable = {start}
        frontier = [start]
        edges: dict[str, set[str]] = {}
        for source_node, target in references:
            edges.setdefault(source_node, set()).add(target)
        while frontier:
            current = frontier.pop()
            for target in edges.get(current, ()):
                if target in nodes_in and target not in reachable:
                    reachable.add(target)
                    frontier.append(target)
        for name in nodes_in:
            if name not in reachable:
                problems.append(f"étape « {name} » inaccessible depuis « {start} »")
    entry = attempt(_entry, raw.get("entry"), raw)
    if entry and entry["type"] == "event" and entry["event"] not in known_events:
        problems.append(f"entrée : événement inconnu « {entry['event']} » ({', '.join(known_events)})")
    if entry and entry["type"] == "segment" and segments is not None and entry["segment"] not in segments:
        problems.append(f"entrée : segment inconnu « {entry['segment']} » ({', '.join(sorted(segments))})")
    goals = []
    for goal in raw.get("goals") or []:
        if not isinstance(goal, dict) or not goal.get("when"):
            problems.append("chaque objectif (goals) a un nom et une condition « when »")
            continue
        if check_condition:
            attempt(check_condition, str(goal["when"]))
        goals.append({"name": str(goal.get("name", goal["when"])), "when": str(goal["when"])})
    re_entry = str(raw.get("re_entry", "per_subject"))
    if re_entry not in ("never", "per_subject", "after_exit"):
        problems.append(f"règle de ré-entrée inconnue « {re_entry} » (never, per_subject, after_exit)")
    if problems:
        raise DefinitionError(list(dict.fromkeys(problems)))
    return {"key": str(raw["key"]), "name": str(raw["name"]), "description": str(raw.get("description", "")),
            "service": str(raw["service"]), "purpose": str(raw["purpose"]), "lane": str(raw.get("lane",
                                                                                                "transactional")),
            "start": start, "entry": entry, "goals": goals, "exit_on_opt_out": bool(raw.get("exit_on_opt_out", True)),
            "re_entry": re_entry, "nodes": _serialisable(nodes)}


def _to_problems(where: str, node: dict[str, Any], known: Collection[str]) -> list[str]:
    """A send node addressed to declared recipients (`to:`): a code some capability declares, and no signed link —
    a link opens the instance's person's pages, never someone else's."""
    problems = []
    if node["to"] not in known:
        codes = ", ".join(sorted(known)) or "aucun n'est déclaré"
        problems.append(f"{where} : destinataires inconnus « {node['to']} » ({codes})")
    if node.get("link"):
        problems.append(f"{where} : pas de lien (link) dans un message à « {node['to']} » : un lien signé mène aux "
                        f"pages de la personne du parcours")
    return problems


def _entry(spec: Any, raw: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(spec, dict) or spec.get("type") not in ENTRY_TYPES:
        raise DefinitionError([f"entrée : type inconnu ({', '.join(ENTRY_TYPES)})"])
    kind = spec["type"]
    if kind == "date":
        field_name, offset = parse_date_expression(str(spec.get("when", "")), "entrée")
        if not field_name.startswith("document."):
            raise DefinitionError(["entrée : seules les dates de document sont prises en charge (document.expires_on)"])
        kinds = spec.get("kinds") or []
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if not kinds:
            raise DefinitionError(["entrée : types de document (kinds) manquants"])
        grace = parse_duration(spec.get("grace", "0 days"), "entrée (grace)")
        return {"type": "date", "field": field_name.split(".", 1)[1], "offset": _serialisable(offset),
                "kinds": kinds, "grace": _serialisable(grace)}
    if kind == "event":
        if not spec.get("event"):
            raise DefinitionError(["entrée : événement manquant"])
        return {"type": "event", "event": str(spec["event"])}
    if not spec.get("segment"):
        raise DefinitionError(["entrée : segment manquant"])
    return {"type": "segment", "segment": str(spec["segment"])}


def _serialisable(value: Any) -> Any:
    if isinstance(value, Duration):
        return {"amount": value.amount, "unit": value.unit}
    if isinstance(value, tuple):
        return [_serialisable(v) for v in value]
    if isinstance(value, dict):
        return {k: _serialisable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_serialisable(v) for v in value]
    return value


def duration(spec: dict[str, Any]) -> Duration:
    return Duration(int(spec["amount"]), str(spec["unit"]))


# --- stepping one instance ------------------------------------------------------------------
@dataclass(slots=True)
class InstanceState:
    id: int
    person_id: int
    node: str
    status: str
    steps: int
    pending_event: str
    waiting_for: list[str]
    context: dict[str, Any]
    inbox: list[str] = field(default_factory=list)  # events received and not yet consumed, oldest first
    timeout_at: datetime | None = None  # when the current wait_for_event gives up


@dataclass(slots=True)
class Outcome:
    node: str
    status: str  # active | completed | exited
    next_wake_at: datetime | None
    steps: int
    waiting_for: list[str] = field(default_factory=list)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (kind, node, detail)
    # node, template, channels, window, link, lane, and `to` (declared recipients instead of the person)
    messages: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = ""
    inbox: list[str] = field(default_factory=list)


Evaluate = Callable[[str, dict[str, Any]], Any]


def _date_value(context: dict[str, Any], field_path: str, tz: tzinfo = DEFAULT_TZ) -> date | None:
    namespace, name = field_path.split(".", 1)
    value = (context.get(namespace) or {}).get(name)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(tz).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def take(inbox: list[str], events: list[str]) -> tuple[str, list[str]]:
    """The first event of the inbox the node waits for, and what is left after it ("" when none): events
    are consumed in the order they came, and those before it are history."""
    for index, event in enumerate(inbox):
        if event in events:
            return event, inbox[index + 1:]
    return "", inbox


SendingDay = Callable[[date], bool]


def _date_deadline(node: dict[str, Any], context: dict[str, Any], now: datetime,
                   sending_day: SendingDay | None = None, tz: tzinfo = DEFAULT_TZ) -> datetime | None:
    """09:00 local time (in `tz`) on the date the expression gives. A date *before* another one
    ("rendez_vous.date - 1 day") that falls on a day messages do not go out (Sunday, public holiday) moves back
    to the last day they do: the reminder the day before a Saturday appointment after Christmas goes on the
    24th, not on the morning."""
    field_path, offset = node["until"]
    day = _date_value(context, field_path, tz)
    if day is None:
        return None
    moment = datetime.combine(day, time(9, 0), tz)
    if offset:
        moment = duration(offset).add_to(moment, tz)
        if sending_day is not None and offset["amount"] < 0:
            for _ in range(7):
                if sending_day(moment.date()) or moment <= now:
                    break
                moment -= timedelta(days=1)
    return max(now, moment)


def step(spec: dict[str, Any], state: InstanceState, now: datetime, context: dict[str, Any],
         evaluate: Evaluate, opted_out: bool = False, sending_day: SendingDay | None = None,
         tz: tzinfo = DEFAULT_TZ) -> Outcome:
    """Move the instance from where it woke up to the next place it waits (or to its end); dates and
    durations in months are read in local time (`tz`, the collectivité's zone)."""
    nodes = spec["nodes"]
    out = Outcome(state.node, "active", None, state.steps, inbox=list(state.inbox))
    if state.steps == 0:
        out.events.append(("entered", state.node, {}))
    if spec.get("exit_on_opt_out", True) and opted_out:
        out.status, out.outcome = "exited", "opposition"
        out.events.append(("exit", state.node, {"reason": "opposition"}))
        return out
    for goal in spec.get("goals", []):
        if evaluate(goal["when"], context):
            out.status, out.outcome = "completed", goal["name"]
            out.events.append(("goal", state.node, {"goal": goal["name"]}))
            return out
    current = nodes[state.node]
    if state.steps == 0 or state.pending_event == ENTER:
        target: str | None = state.node  # a new instance starts at its first node; a jump enters its node
    elif current["type"] == "wait_for_event":
        received, rest = take(out.inbox, current["events"])
        if received and received in current["on_event"]:
            out.inbox = rest
            out.events.append(("event", state.node, {"event": received}))
            target = current["on_event"][received]
        elif state.timeout_at is None or now >= state.timeout_at:
            out.events.append(("timeout", state.node, {"until": True} if "until" in current else {}))
            target = current["on_timeout"]
        else:  # woken early (resumed, migrated): keep waiting until the deadline
            out.waiting_for, out.next_wake_at = list(current["events"]), state.timeout_at
            return out
    elif current["type"] == "wait":
        target = current["next"]
    else:  # woken elsewhere (after a jump by an agent): run the node itself
        target = state.node
    for _ in range(MAX_STEPS):
        if target is None:
            break
        node = nodes[target]
        out.node = target
        out.steps += 1
        out.events.append(("node", target, {}))
        kind = node["type"]
        if kind == "send":
            out.messages.append({"node": target, "step": out.steps, "template": node["template"],
                                 "channels": node["channels"], "window": node.get("window"),
                                 "link": node.get("link"), "lane": node.get("lane"), "to": node.get("to")})
            target = node["next"]
        elif kind == "task":
            out.tasks.append({"node": target, "title": node["title"], "service": node["service"],
                              "due": node["due"]})
            target = node["next"]
        elif kind == "branch":
            target = next((case["next"] for case in node["cases"] if evaluate(case["when"], context)),
                          node["default"])
        elif kind == "goal":
            if evaluate(node["when"], context):
                out.status, out.outcome = "completed", target
                out.events.append(("goal", target, {"goal": target}))
                return out
            target = node["next"]
        elif kind == "wait":
            if "duration" in node:
                out.next_wake_at = duration(node["duration"]).add_to(now, tz)
                return out
            moment = _date_deadline(node, context, now, sending_day, tz)
            if moment is None:
                out.events.append(("error", target, {"error": f"date absente : {node['until'][0]}"}))
                target = node["next"]
                continue
            out.next_wake_at = moment
            return out
        elif kind == "wait_for_event":
            received, rest = take(out.inbox, node["events"])
            if received:
                out.inbox = rest
                out.events.append(("event", target, {"event": received, "already": True}))
                target = node["on_event"][received]
                continue
            if "until" in node:
                deadline = _date_deadline(node, context, now, sending_day, tz)
                if deadline is None:
                    out.events.append(("error", target, {"error": f"date absente : {node['until'][0]}"}))
                    target = node["on_timeout"]
                    continue
            else:
                deadline = duration(node["timeout"]).add_to(now, tz)
            out.waiting_for = list(node["events"])
            out.next_wake_at = deadline
            return out
        elif kind == "end":
            out.status, out.outcome = "completed", node.get("outcome", "termine")
            out.events.append(("completed", target, {"outcome": out.outcome}))
            return out
    out.status, out.outcome = "exited", "boucle"
    out.events.append(("error", out.node, {"error": f"plus de {MAX_STEPS} étapes d'affilée : boucle ?"}))
    return out


def entry_window(entry: dict[str, Any], today: date) -> tuple[date, date]:
    """For a date entry: the expiry dates whose window is open today (expires_on + offset ≤ today, and the
    document not expired longer than the grace)."""
    offset = duration(entry["offset"]) if entry.get("offset") else Duration(0, "days")
    grace = duration(entry["grace"])
    latest = Duration(-offset.amount, offset.unit).add_to_date(today)
    earliest = Duration(-grace.amount, grace.unit).add_to_date(today)
    return earliest, latest


def load_yaml(source: str) -> dict[str, Any]:
    data = yaml.safe_load(source)
    return data if isinstance(data, dict) else {}
