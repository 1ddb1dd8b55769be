"""The demo's home devices, live (PROACTIF_DEMO_DEVICES; docs/watch-demo.md): while `proactif demo` runs, about
twenty synthetic devices lent to registered persons report their vitals every quarter of an hour of wall-clock
time, with the motion of the person's day, a device going silent now and then and a deterioration every two hours
on a different person — the first one already at its peak when the demo starts, so that the desk shows a live
critical alert at once.

One stream, deterministic by its seed: a week of `synthetic_vitals` (daily rhythms, noise, lost messages, rare
artefacts; its days laid on the demo's local days) repeated week after week, and on it the episodes of a
schedule counted from the demo's first start. The first start back-fills the last 48 hours (`_simulate.messages`,
as `proactif watch simulate-devices` does); the periodic job `watch.demo_devices` then sends each slot when its
time comes; a restart sends what was missed (48 hours at most) and lends nothing twice — readings are stored
once by (device, time, code) whatever is sent again.

Over MQTT when the broker of PROACTIF_MQTT_URL answers — the demo then runs the ingester in the background, a
persistent session of its own subscribed to its devices' topics only (another demo on the same broker is not
heard) — and otherwise stored directly through `_mqtt.handle_batch`, the same messages, the same path from there.
What it remembers (first start, last slot sent, mode) is the state of the job's row.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings

from proactif.kernel import clock
from proactif.kernel import scheduler as jobs
from proactif.kernel.logging import get_logger
from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _simulate as simulate
from proactif.watch import synthetic_vitals
from proactif.watch.rules import VITALS

log = get_logger(__name__)
JOB = "watch.demo_devices"
COUNT = 20
SEED = 1
STEP = 15 * 60  # seconds between two messages of a device
BACKFILL = timedelta(hours=48)
WEEK = 7 * 24 * 3600
EVERY = timedelta(hours=2)  # a deterioration
FIRST_BEFORE = timedelta(minutes=100)  # the first one began this long before the first start: at its peak then
SILENCE_EVERY = timedelta(hours=6)  # a device going silent
SILENCE_AFTER = timedelta(minutes=50)  # the first one, after the first start
HOLD, RECOVER = 3 * 3600, 3 * 3600  # a deterioration is held 3 hours at its peak, then recedes over 3 hours
BATCH = 500


@dataclass(frozen=True)
class Episode:
    kind: str  # "deterioration" or "silence"
    device: int  # index of the device
    start: float  # epoch seconds
    end: float
    ramp: float = 0.0
    strength: float = 0.0
    last_will: bool = False


@dataclass
class Stream:
    """The devices' stream: serials in order, the first start (epoch), the seed."""

    serials: list[str]
    first_start: float
    seed: int = SEED
    anchor: float = field(init=False)  # local midnight where the repeated week begins

    def __post_init__(self) -> None:
        day = datetime.fromtimestamp(self.first_start - BACKFILL.total_seconds(), UTC).astimezone(clock.local_tz())
        self.anchor = clock.local_datetime(day.date()).timestamp()

    def _order(self) -> list[int]:
        return [int(i) for i in np.random.default_rng([self.seed, 7]).permutation(len(self.serials))]

    def _deteriorations(self, since: float, until: float) -> list[Episode]:
        """A deterioration every two hours from the first, on the devices in turn (a different person each time)."""
        order, origin, every = self._order(), self.first_start - FIRST_BEFORE.total_seconds(), EVERY.total_seconds()
        out = []
        first = max(0, math.floor((since - 3 * 3600 - HOLD - RECOVER - origin) / every))
        for i in range(first, math.floor((until - origin) / every) + 1):
            rng = np.random.default_rng([self.seed, 1, i])
            ramp = 3600.0 if i == 0 else float(rng.uniform(1, 3)) * 3600  # the first one at its peak at once
            strength = 1.0 if i == 0 else float(rng.uniform(0.6, 1.0))
            start = origin + i * every
            episode = Episode("deterioration", order[i % len(order)], start, start + ramp + HOLD + RECOVER, ramp,
                              strength)
            if episode.end >= since and episode.start <= until:
                out.append(episode)
        return out

    def episodes(self, since: float, until: float) -> list[Episode]:
        """The episodes under way at some moment of [since, until]: the deteriorations, and a device going silent
        every six hours (1.5 to 4 hours, half the time after its Last Will), not one in deterioration then."""
        out = self._deteriorations(since, until)
        order, n = self._order(), len(self.serials)
        origin, every = self.first_start + SILENCE_AFTER.total_seconds(), SILENCE_EVERY.total_seconds()
        first = max(0, math.floor((since - 4 * 3600 - origin) / every))
        for j in range(first, math.floor((until - origin) / every) + 1):
            rng = np.random.default_rng([self.seed, 2, j])
            start = (origin + j * every) // STEP * STEP
            end = start + float(rng.uniform(1.5, 4)) * 3600
            if end < since or start > until:
                continue
            busy = {e.device for e in self._deteriorations(start, end)}
            turn = [order[(j * 7 + n // 2 + k) % n] for k in range(n)]
            device = next((d for d in turn if d not in busy), turn[0])
            out.append(Episode("silence", device, start, end, last_will=bool(rng.random() < 0.5)))
        return out

    def window(self, since: float, until: float) -> synthetic_vitals.Scenario:
        """The slots of (since, until] — vitals, motion, Last Wills — as a scenario on real times."""
        base = _week(len(self.serials), self.seed)
        first = math.floor(since / STEP) * STEP + STEP
        times = np.arange(first, math.floor(until / STEP) * STEP + 1, STEP, dtype=float)
        slots = len(base.times)
        index = (np.round((times - self.anchor) / STEP).astype(int)) % slots
        vitals = base.vitals[:, index, :].copy()
        lo, hi = first - STEP, (times[-1] if len(times) else first)
        motion: list[np.ndarray] = []
        week0 = base.start.timestamp()
        for p in range(len(self.serials)):
            relative = base.motion[p] - week0
            events = [self.anchor + c * WEEK + relative
                      for c in range(math.floor((lo - self.anchor) / WEEK), math.floor((hi - self.anchor) / WEEK) + 1)]
            moves = np.concatenate(events) if events else np.array([])
            motion.append(moves[(moves >= lo) & (moves < hi)])
        offline: list[tuple[int, float]] = []
        for episode in self.episodes(lo, hi):
            p = episode.device
            if episode.kind == "deterioration":
                shape = np.clip(np.minimum((times - episode.start) / episode.ramp,
                                           (episode.end - times) / RECOVER), 0, 1)
                for k, vital in enumerate(VITALS):
                    vitals[p, :, k] += episode.strength * synthetic_vitals.MODEL[vital][5] * shape
            else:
                vitals[p, (times > episode.start) & (times < episode.end), :] = np.nan
                motion[p] = motion[p][(motion[p] < episode.start) | (motion[p] >= episode.end)]
                if episode.last_will and lo <= episode.start + 60 < hi:
                    offline.append((p, episode.start + 60))
        vitals[:, :, 1:3] = np.round(vitals[:, :, 1:3] * [1, 10]) / [1, 10]  # as devices show them
        vitals[:, :, [0, 3, 4, 5]] = np.round(np.minimum(vitals[:, :, [0, 3, 4, 5]], [300, 100, 300, 200]))
        return synthetic_vitals.Scenario(tuple(self.serials), datetime.fromtimestamp(lo, UTC), 0, STEP // 60, times,
                                         vitals, tuple(motion), tuple(offline), ())

    def messages(self, since: float, until: float) -> Iterator[tuple[str, bytes]]:
        return simulate.messages(self.window(since, until), self.serials, 0.0, live=True)


@lru_cache(maxsize=4)
def _week(devices: int, seed: int) -> synthetic_vitals.Scenario:
    return synthetic_vitals.generate(devices, 7 * 24, seed, 0)


def serial_format() -> str:
    """`DEMO-XXXX-{n:03d}`, XXXX named after the database: two demos on one broker never mix their devices."""
    db = settings.DATABASES["default"]
    tag = hashlib.sha256(f"{db.get('HOST', '')}:{db.get('PORT', '')}:{db['NAME']}".encode()).hexdigest()[:4]
    return f"DEMO-{tag.upper()}-{{:03d}}"


def client_id() -> str:
    return f"proactif-demo-{serial_format()[5:9].lower()}"


# --- sending ---------------------------------------------------------------------------------------------------


def store_directly(items: Iterator[tuple[str, bytes]]) -> dict[str, int]:
    """The messages stored here, as the ingester would (`_mqtt.handle_batch`, BATCH messages a transaction)."""
    counts = {"messages": 0, "stored": 0, "state": 0, "refused": 0}
    batch: list[tuple[str, bytes]] = []

    def flush() -> None:
        for outcome in mqtt_ingest.handle_batch(batch):
            counts[outcome] += 1
        counts["messages"] += len(batch)
        batch.clear()

    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return counts


def _publisher(url: str) -> Any:
    import paho.mqtt.client as mqtt

    where = mqtt_ingest.broker_address(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"proactif-demo-pub-{uuid.uuid4().hex[:8]}")
    client.max_queued_messages_set(0)
    if where.username:
        client.username_pw_set(where.username, where.password)
    if where.tls:
        client.tls_set(ca_certs=settings.MQTT_CA_FILE or None)
    client.connect(where.host, where.port, 30)
    client.loop_start()
    return client


def publish(url: str, items: Iterator[tuple[str, bytes]], ingester: mqtt_ingest.Ingester | None = None,
            timeout: float = 120.0) -> dict[str, int]:
    """The messages published over MQTT (QoS 1, every PUBACK awaited); with this process's `ingester`, paced on
    it and awaited until it has stored them (at most `timeout` seconds more)."""
    import time

    client = _publisher(url)
    before = sum(ingester.counts.values()) if ingester is not None else 0
    try:
        deadline = time.monotonic() + timeout
        published, _ = simulate.publish([client], items, ingester, deadline)
        while ingester is not None and sum(ingester.counts.values()) - before < published \
                and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    return {"messages": published}


# --- the demo's side -----------------------------------------------------------------------------------------


@dataclass
class Running:
    """What `start` left running: the ingester (MQTT mode) and the figures for the banner."""

    mode: str
    figures: dict[str, Any]
    ingester: mqtt_ingest.Ingester | None = None

    def stop(self) -> None:
        if self.ingester is not None:
            self.ingester.stop()
            self.ingester = None

    def banner(self) -> str:
        f = self.figures
        how = (f"par MQTT ({f['broker']}), ingérées en arrière-plan" if self.mode == "mqtt" else
               "enregistrées directement (aucun courtier MQTT joignable à PROACTIF_MQTT_URL)")
        sent = f"{f['sent']:,}".replace(",", "\u202f") + (" messages" if f["sent"] > 1 else " message")
        done = (f"historique des 48 dernières heures envoyé ({sent}) ; une dégradation toutes les 2 heures, la "
                "première en cours" if f["first"] else
                f"reprise après l'arrêt ({sent} rattrapé{'s' if f['sent'] > 1 else ''}) ; une dégradation toutes "
                "les 2 heures")
        return (f"  Appareils à domicile : {f['devices']} appareils de démonstration prêtés à des personnes "
                f"inscrites, une mesure par appareil tous les quarts d'heure, {how} ; {done}.")


def _ingester(url: str, serials: list[str]) -> mqtt_ingest.Ingester | None:
    """The demo's ingester, subscribed to its own devices' topics, or None when the broker does not answer."""
    try:
        ingester = mqtt_ingest.from_url(url, ca_file=settings.MQTT_CA_FILE, client_id=client_id(), topics=[
            topic for s in serials for topic in (mqtt_ingest.readings_topic(s), mqtt_ingest.state_topic(s))])
    except ValueError:
        return None
    try:
        ingester.start(wait=10)
    except OSError:
        ingester.stop()
        return None
    if not ingester.subscribed.is_set():
        ingester.stop()
        return None
    return ingester


def _state() -> dict[str, Any]:
    jobs.ensure_rows()
    return jobs.job_state(JOB)


def _stream(state: dict[str, Any]) -> Stream:
    return Stream(list(state["serials"]), float(state["first_start"]), int(state.get("seed", SEED)))


def prepare(count: int = COUNT, seed: int = SEED) -> dict[str, Any]:
    """The devices lent (or kept) and the stream's state: the first start, the last slot sent (none yet)."""
    state = _state()
    now = clock.now().timestamp()
    serials, _ = simulate._devices(count, int(BACKFILL.total_seconds() // 3600), serial_format())
    if state.get("serials") != serials or state.get("seed") != seed:  # a new stream: from the first start again
        state = {"serials": serials, "seed": seed, "first_start": now, "last": None}
    return state


def catch_up_from(state: dict[str, Any], now: float) -> float:
    """Where sending resumes: after the last slot sent, 48 hours back at most."""
    oldest = now - BACKFILL.total_seconds()
    return max(float(state["last"]), oldest) if state.get("last") is not None else oldest


def start(url: str | None = None, count: int = COUNT, seed: int = SEED) -> Running:
    """At the demo's start: devices lent, the ingester started when the broker answers, the missed slots sent
    (the last 48 hours on the first start). Returns what runs, to stop when the demo stops."""
    url = url if url is not None else settings.MQTT_URL
    state = prepare(count, seed)
    first = state.get("last") is None
    now = clock.now().timestamp()
    since = catch_up_from(state, now)
    stream = _stream(state)
    until = math.floor(now / STEP) * STEP
    ingester = _ingester(url, stream.serials)
    mode = "mqtt" if ingester is not None else "direct"
    items = stream.messages(since, until)
    sent = publish(url, items, ingester) if ingester is not None else store_directly(items)
    state.update(last=max(until, since), mode=mode)
    jobs.set_job_state(JOB, state)
    where = mqtt_ingest.broker_address(url) if mode == "mqtt" else None
    figures = {"devices": len(stream.serials), "mode": mode, "sent": sent["messages"], "seed": seed, "first": first,
               "broker": f"{where.host}:{where.port}" if where else None}
    log.info("demo devices started", devices=len(stream.serials), mode=mode, messages=sent["messages"])
    return Running(mode, figures, ingester)


def step(now: datetime | None = None) -> dict[str, Any]:
    """The periodic job: the slots whose time has come since the last one sent, over MQTT in MQTT mode (stored
    directly if the broker no longer answers), else directly. Off unless PROACTIF_DEMO_DEVICES."""
    if not settings.DEMO_DEVICES:
        return {}
    state = _state()
    if not state.get("serials"):  # `proactif serve` asked for them, with no demo to start them: directly
        state = prepare()
        state["mode"] = "direct"
    moment = (now or clock.now()).timestamp()
    since = catch_up_from(state, moment)
    until = math.floor(moment / STEP) * STEP
    if until <= since:
        return {"messages": 0, "mode": state.get("mode", "direct")}
    stream = _stream(state)
    mode = state.get("mode", "direct")
    if mode == "mqtt":
        try:
            sent = publish(settings.MQTT_URL, stream.messages(since, until))
        except OSError:
            log.warning("demo devices: MQTT broker unreachable, stored directly")
            sent, mode = store_directly(stream.messages(since, until)), "direct"
    else:
        sent = store_directly(stream.messages(since, until))
    state["last"] = until
    jobs.set_job_state(JOB, state)
    return {"messages": sent["messages"], "mode": mode}
