"""What an alert would reach, told before it leaves — the map's live count and the reach preview.

The figures are the send's own decisions: for each resident of the area, the channel their message would leave
on now, or why it would be cancelled (no channel open: oppositions, consents, no contact for the channels the
alert's type allows — a power cut is no use by post); a channel without a published template fails, and the
message goes on the next one as the outbox's fallback sends it — `messaging.plan`, the rules the outbox applies
when the message leaves. So « Sans canal ouvert : 7 » means seven messages cancelled, not 205.

Two ways to the same figures:

- **exact** (`reach_exact`): the residents of the area, then `messaging.plan` for each of them — a few tens of
  microseconds per resident: an exercise's test contacts, the tests' reference;
- **fast** (`reach`), for the map while the agent draws: every resident's *reach profile* (preferences,
  channels with an address, channels open, language, push subscription), read once for the whole commune
  (`registry.reach_profiles`) and kept in memory beside the address index, each resident at their address's
  position. An area is then a mask over addresses, a count per profile (`numpy.bincount`), and one decision
  per profile (`messaging.plan_profiles`, a few hundred of them) — milliseconds for 100,000 residents.

The table is built again when the registry's reach data change (their stamp: greatest ids of residents,
contacts, preferences, consents and oppositions, revocations, push subscriptions — read at every count, a few
index lookups), when the address index is built again (`geo.forget_index` included), and `REBUILD_AFTER`
seconds after it was built (changes made in place: a status, a move, a bounce). A commune whose table takes
more than `BACKGROUND_OVER` seconds to build (two million residents: about 17 s) gets its new table built in
the background while the previous one answers; a small one waits for it. Inside a transaction (tests) it always
waits: another connection would not see what the transaction wrote.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection

from proactif.alerts import _dispatch as dispatch
from proactif.alerts import domain
from proactif.geo import services as geo
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging
from proactif.registry import services as registry

log = get_logger(__name__)

REBUILD_AFTER = 600.0  # seconds: changes made in place are seen at most this late
BACKGROUND_OVER = 1.0  # seconds of build above which a stale table answers while the next one is built


@dataclass(frozen=True)
class Reach:
    """What sending to an area would do now, resident by resident: the channel their message would leave on,
    or why it would be cancelled; the channels it would fail on first for want of a template."""

    addresses: int
    residents: int
    channels: dict[str, int]  # channel → residents whose message leaves on it
    cancelled: dict[str, int]  # reason → residents whose message is cancelled
    failed: dict[str, int]  # channel → residents whose message fails there, every channel tried
    fell_back: dict[str, int]  # channel → residents whose message fails there (no template), then goes on another
    streets: list[tuple[int, str, int]] = field(default_factory=list)  # (voie id, name, addresses selected)

    @property
    def unreachable(self) -> int:
        return sum(self.cancelled.values())

    def summary(self) -> dict[str, Any]:
        return {"addresses": self.addresses, "residents": self.residents, "reachable": self.channels,
                "unreachable": self.unreachable, "reasons": self.cancelled, "failed": self.failed,
                "fell_back": self.fell_back,
                "streets": [{"id": v, "nom": n, "addresses": c} for v, n, c in self.streets]}


def policy_of(type_code: str) -> tuple[list[str], str]:
    """The channel policy and the template key of an alert of this type (what `dispatch.fan_out` writes)."""
    if type_code not in domain.TYPES:
        raise domain.IncidentError(f"type inconnu : {type_code}")
    return dispatch.policy(domain.TYPES[type_code].urgency), f"alerte.{type_code}"


def _tally(steps: list[tuple[messaging.Step, int]], addresses: int, streets: list[tuple[int, str, int]]) -> Reach:
    channels: Counter[str] = Counter()
    cancelled: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    fell_back: Counter[str] = Counter()
    for step, n in steps:
        for channel in step.fell_back:
            fell_back[channel] += n
        if step.action == "cancel":
            cancelled[step.reason] += n
        elif step.action == "fail":
            failed[step.channel] += n
        else:  # send (an urgent message is never deferred)
            channels[step.channel] += n
    return Reach(addresses, sum(n for _, n in steps), dict(sorted(channels.items())), dict(cancelled),
                 dict(sorted(failed.items())), dict(sorted(fell_back.items())), streets)


def reach_exact(target: geo.Target, type_code: str, residents: list[int] | None = None) -> Reach:
    """Resident by resident (`residents`: instead of the area's, an exercise's test contacts)."""
    policy, template_key = policy_of(type_code)
    addresses = geo.select_addresses(target)
    people = geo.residents(target) if residents is None else residents
    steps = messaging.plan(people, dispatch.MESSAGE_PURPOSE, policy, "urgent", template_key)
    return _tally([(step, 1) for step in steps.values()], len(addresses), geo.streets_of(addresses))


def reach(target: geo.Target, type_code: str) -> Reach:
    """The same figures as `reach_exact`, from the table of reach profiles."""
    policy, template_key = policy_of(type_code)
    points = geo.index()
    table = _table(points)
    addresses = geo.select_addresses(target, points)
    selected = np.zeros(len(points.ids) + 1, bool)  # the last slot: residents of addresses not on the map
    selected[points.positions_of(addresses)] = True
    per_profile = np.bincount(table.profile[selected[table.positions]], minlength=len(table.profiles))
    present = np.flatnonzero(per_profile)
    steps = messaging.plan_profiles([table.profiles[i] for i in present.tolist()], policy, template_key)
    return _tally(list(zip(steps, per_profile[present].tolist(), strict=True)), len(addresses),
                  geo.streets_of(addresses, points))


# --- the table of reach profiles --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Table:
    points: Any  # the address index the positions refer to
    stamp: tuple[Any, ...]
    built_at: float
    seconds: float  # how long it took to build
    positions: np.ndarray  # per resident: their address's position in the index (len(ids): not on the map)
    profile: np.ndarray  # per resident: index into profiles
    profiles: list[tuple[registry.ReachProfile, bool]]  # (reach profile, holds a push subscription)


_lock = threading.Lock()
_state: dict[str, Any] = {}  # table, building (a thread)


def forget() -> None:
    with _lock:
        _state.clear()


def _stamp() -> tuple[Any, ...]:
    return registry.reach_stamp(), messaging.push_stamp()


def _positions(points: Any, address_ids: np.ndarray) -> np.ndarray:
    located = np.isin(address_ids, points.ids)
    positions = np.full(len(address_ids), len(points.ids), np.int64)
    positions[located] = points.positions_of(address_ids[located])
    return positions


def _build(points: Any, stamp: tuple[Any, ...]) -> _Table:
    started = time.monotonic()
    found = registry.reach_profiles(dispatch.MESSAGE_PURPOSE)
    push = np.isin(found.person_ids, np.asarray(messaging.push_subscribers(), np.int64))
    distinct, inverse = np.unique(found.profile.astype(np.int64) * 2 + push, return_inverse=True)
    profiles = [(found.profiles[int(k) // 2], bool(k % 2)) for k in distinct]
    seconds = time.monotonic() - started
    log.info("reach table built", residents=len(found.person_ids), profiles=len(profiles), seconds=round(seconds, 2))
    return _Table(points, stamp, time.monotonic(), seconds, _positions(points, found.address_ids),
                  inverse.reshape(-1).astype(np.int32), profiles)


def _table(points: Any) -> _Table:
    stamp = _stamp()
    with _lock:
        table: _Table | None = _state.get("table")
        if (table is not None and table.points is points and table.stamp == stamp
                and time.monotonic() - table.built_at < REBUILD_AFTER):
            return table
        # the previous table answers while the next one is read, unless it is quick to read, the addresses
        # moved (its positions are the old index's) or this connection holds writes another would not see
        background = (table is not None and table.points is points and table.seconds > BACKGROUND_OVER
                      and not connection.in_atomic_block)
        if background:
            if _state.get("building") is None:
                thread = threading.Thread(target=_build_in_background, args=(points, stamp), daemon=True,
                                          name="proactif-reach-table")
                _state["building"] = thread
                thread.start()
            assert table is not None
            return table  # the previous table answers while the next one is built
    built = _build(points, stamp)
    with _lock:
        _state["table"] = built
    return built


def _build_in_background(points: Any, stamp: tuple[Any, ...]) -> None:
    try:
        built = _build(points, stamp)
        with _lock:
            _state["table"] = built
    except Exception:  # the next count tries again; the previous table keeps answering until then
        log.exception("reach table not built")
    finally:
        with _lock:
            _state.pop("building", None)
        connection.close()
