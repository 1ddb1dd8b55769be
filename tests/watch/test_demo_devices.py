"""The demo's live home devices (PROACTIF_DEMO_DEVICES, docs/watch-demo.md): the first start back-fills 48 hours
for devices lent to registered persons only; each later slot is sent once, and sending it again stores nothing;
the first deterioration is at its peak when the demo starts, so the desk lists a critical alert at once; without
a broker the same messages are stored through `handle_batch`; a restart lends nothing twice; and the periodic job
does nothing unless the setting asks. Over a private Mosquitto: the demo's own ingester stores what is published."""

from __future__ import annotations

import itertools
import math
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client

from proactif.bench import telemetry as bench
from proactif.kernel import clock
from proactif.kernel import scheduler as jobs
from proactif.watch import _desk as desk
from proactif.watch import demo_devices as live
from proactif.watch import tasks
from proactif.watch.models import Alert, Device, DeviceLoan, Observation, Registration
from tests.conftest import require
from tests.watch.test_simulate import register as enrol

NOW = datetime(2026, 7, 14, 9, 0, tzinfo=UTC)
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def register(persons: int) -> set[int]:
    """`persons` residents of the synthetic commune enrolled (and one removed): everyone registered."""
    enrol(persons)
    return set(Registration.objects.filter(status="inscrite").values_list("person_id", flat=True))


def nowhere() -> str:
    return f"mqtt://127.0.0.1:{bench.free_port()}"  # nothing listens there


def slots(serial: str) -> list[datetime]:
    return sorted(set(Observation.objects.filter(device__serial=serial, code="heart_rate")
                      .values_list("at", flat=True)))


@pytest.mark.django_db
def test_the_first_start_back_fills_48_hours_for_registered_persons_and_the_desk_shows_a_critical_alert(
        agents) -> None:
    with clock.use(clock.FixedClock(NOW)):
        registered = register(6)
        running = live.start(url=nowhere(), count=5)
        assert running.mode == "direct" and running.ingester is None
        assert "enregistrées directement" in running.banner() and "la première en cours" in running.banner()
        serials = list(Device.objects.filter(serial__startswith="DEMO-").order_by("serial")
                       .values_list("serial", flat=True))
        assert len(serials) == 5 and serials == jobs.job_state(live.JOB)["serials"]
        lent = set(DeviceLoan.objects.values_list("person_id", flat=True))
        removed = set(Registration.objects.filter(status="radiee").values_list("person_id", flat=True))
        assert lent <= registered and len(lent) == 5 and not lent & removed  # never a removed person
        for serial in serials:
            times = slots(serial)
            assert NOW - timedelta(hours=48) < times[0] <= NOW - timedelta(hours=47, minutes=30)
            assert times[-1] <= NOW and len(times) >= 180  # 192 quarter-hours, a few lost
        assert Observation.objects.filter(code="motion").exists()
        assert Observation.objects.filter(at__gt=NOW).count() == 0  # nothing yet to come
        # the first deterioration is at its peak now: a critical alert, on the desk
        critical = [a for a in desk.desk_alerts() if a.severity == "critical"]
        assert critical and {a.person_id for a in critical} <= lent
        client = Client()
        client.force_login(agents["sante"])
        page = client.get("/veille/pupitre/").content.decode()
        assert f"alerte-{critical[0].pk}" in page

        stored, loans = Observation.objects.count(), DeviceLoan.objects.count()
        again = live.start(url=nowhere(), count=5)  # a restart at once: nothing to send, nothing lent again
        assert again.figures["sent"] == 0 and "reprise après l'arrêt (0 message rattrapé)" in again.banner()
        assert Observation.objects.count() == stored and DeviceLoan.objects.count() == loans
        assert Device.objects.filter(serial__startswith="DEMO-").count() == 5


@pytest.mark.django_db
def test_a_live_step_sends_the_next_slot_once_and_a_resend_stores_nothing(settings) -> None:
    settings.DEMO_DEVICES = True
    fixed = clock.FixedClock(NOW)
    with clock.use(fixed):
        register(4)
        live.start(url=nowhere(), count=4)
        assert live.step() == {"messages": 0, "mode": "direct"}  # the current slot went with the back-fill
        fixed.set(NOW + timedelta(minutes=16))
        first = tasks.demo_devices()
        assert first["mode"] == "direct" and 3 <= first["messages"] <= 4  # one a device (a message may be lost)
        serials = jobs.job_state(live.JOB)["serials"]
        assert sum(slots(s)[-1] == NOW + timedelta(minutes=15) for s in serials) >= 3
        stored = Observation.objects.count()
        assert live.step()["messages"] == 0  # run twice for the same slot: nothing sent
        stream = live.Stream(serials, jobs.job_state(live.JOB)["first_start"])
        resent = live.store_directly(stream.messages(NOW.timestamp(), (NOW + timedelta(minutes=15)).timestamp()))
        assert resent["messages"] == first["messages"] and resent["refused"] == 0
        assert Observation.objects.count() == stored  # idempotent by (device, time, code)
        fixed.set(NOW + timedelta(hours=3, minutes=1))  # the job missed a few slots: they go in order
        assert live.step()["messages"] >= 3 * 11  # one device may have gone silent meanwhile
        assert all(slots(s)[-1] <= NOW + timedelta(hours=3) for s in serials)


def test_the_stream_is_deterministic_and_schedules_a_deterioration_every_two_hours() -> None:
    first_start = NOW.timestamp()
    stream = live.Stream([f"D{n}" for n in range(20)], first_start)
    day = stream.episodes(first_start, first_start + 24 * 3600)
    deteriorations = [e for e in day if e.kind == "deterioration"]
    starts = sorted(e.start for e in deteriorations)
    assert starts[0] == first_start - live.FIRST_BEFORE.total_seconds()
    assert all(b - a == 7200 for a, b in itertools.pairwise(starts))
    assert len({e.device for e in deteriorations}) == len(deteriorations)  # a different person each time
    assert any(e.kind == "silence" for e in day)
    a = list(stream.messages(first_start, first_start + 3600))
    b = list(live.Stream([f"D{n}" for n in range(20)], first_start).messages(first_start, first_start + 3600))
    assert a == b and len(a) >= 4 * 19


@pytest.mark.django_db
def test_the_job_does_nothing_unless_asked() -> None:
    from django.conf import settings

    assert settings.DEMO_DEVICES is False  # the default, in tests as in production
    register(2)
    assert tasks.demo_devices() == {}
    assert not Device.objects.exists() and not Observation.objects.exists()
    assert "watch.demo_devices" in jobs.registered()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_over_a_private_broker_the_demo_s_ingester_stores_the_back_fill_and_each_slot(settings) -> None:
    require(Path(MOSQUITTO).exists(), "mosquitto is not installed")
    settings.DEMO_DEVICES = True
    register(3)
    with bench.private_broker() as port:
        url = settings.MQTT_URL = f"mqtt://127.0.0.1:{port}"
        running = live.start(url=url, count=3)
        try:
            assert running.mode == "mqtt" and running.ingester is not None
            assert f"127.0.0.1:{port}" in running.banner()
            serials = jobs.job_state(live.JOB)["serials"]
            assert running.figures["sent"] >= 3 * 180
            assert sum(running.ingester.counts.values()) == running.figures["sent"]
            assert running.ingester.counts["refused"] == 0
            assert all(len(slots(s)) >= 180 for s in serials)
            assert Alert.objects.filter(severity="critical").exists()
            # the next slot, published by the job (another process in the demo), stored by the ingester
            state = jobs.job_state(live.JOB)
            state["last"] -= 15 * 60  # as if the current slot were still to come
            jobs.set_job_state(live.JOB, state)
            before = Observation.objects.count()
            moment = clock.now()
            until = math.floor(moment.timestamp() / live.STEP) * live.STEP
            # what the stream holds for that slot: one message a device, but for a lost message or a device silent
            # at that hour (the stream's own losses and silences, placed by the wall-clock time)
            expected = sum(1 for _ in live._stream(state).messages(state["last"], until))
            sent = live.step(moment)
            assert sent["mode"] == "mqtt" and sent["messages"] == expected >= 1
            deadline = time.monotonic() + 15
            while sum(running.ingester.counts.values()) < running.figures["sent"] + sent["messages"] \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            assert Observation.objects.count() == before  # the same slot again: stored once
        finally:
            running.stop()
    # the broker gone, the job stores directly
    state = jobs.job_state(live.JOB)
    state["last"] -= 15 * 60
    jobs.set_job_state(live.JOB, state)
    assert live.step()["mode"] == "direct"
