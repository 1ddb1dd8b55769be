"""Home devices over a real Mosquitto (started by the test on a free port, persistence on): readings published at
QoS 1 are stored once, acknowledged after commit; duplicates change nothing; malformed, forged and unknown-device
messages go to the dead-letter list; with the ingester stopped and the broker restarted, the persistent session
delivers what was published meanwhile, and nothing is lost or stored twice; a device's Last Will sets it offline."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import DeadLetter, Device, Observation
from tests.conftest import require
from tests.sinks import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
T0 = datetime(2026, 7, 14, 6, 0, tzinfo=UTC)


class Broker:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        conf = folder / "mosquitto.conf"
        # `user root`: as root mosquitto would drop to its own user, who cannot write in the test's folder
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\n"
                        f"persistence_location {folder}/\nmax_queued_messages 100000\nautosave_interval 1\n")
        self.conf = conf
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto writes its persistence file
            self.process.wait(10)
            self.process = None


@pytest.fixture
def broker(tmp_path):
    require(Path(MOSQUITTO).exists(), "mosquitto is not installed")
    running = Broker(tmp_path)
    running.start()
    yield running
    running.stop()


def publisher(port: int, serial: str):
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"device-{serial}")
    client.will_set(mqtt_ingest.state_topic(serial), "hors_ligne", qos=1, retain=True)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def readings(start: int, count: int) -> bytes:
    return json.dumps({"mesures": [{"code": "spo2", "valeur": 95 - i % 3, "unite": "%",
                                    "le": (T0 + timedelta(minutes=start + i)).isoformat()} for i in range(count)],
                       "batterie": 80}).encode()


def wait_for(condition, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_published_readings_are_stored_once_and_survive_a_broker_restart(broker) -> None:
    device, _ = telemetry.register_device("SPO2-0001", "oxymetre", 60)
    telemetry.lend(device, 777, date(2026, 7, 1))
    ingester = mqtt_ingest.Ingester("127.0.0.1", broker.port).start()
    client = publisher(broker.port, device.serial)
    topic = mqtt_ingest.readings_topic(device.serial)
    published = 0
    for batch in range(10):
        client.publish(topic, readings(batch * 10, 10), qos=1).wait_for_publish(5)
        published += 10
    client.publish(topic, readings(0, 10), qos=1).wait_for_publish(5)  # a device sending again: duplicates
    client.publish(topic, b"{not json", qos=1).wait_for_publish(5)
    client.publish(topic, json.dumps({"appareil": "SPO2-9999", "mesures": []}).encode(), qos=1).wait_for_publish(5)
    client.publish(mqtt_ingest.readings_topic("INCONNU"), readings(0, 1), qos=1).wait_for_publish(5)
    assert wait_for(lambda: sum(ingester.counts.values()) == 14)
    assert Observation.objects.filter(device=device).count() == published == 100
    assert DeadLetter.objects.count() == 3
    reasons = sorted(DeadLetter.objects.values_list("reason", flat=True))
    assert any("falsifié" in r for r in reasons) and "appareil inconnu" in reasons and any("JSON" in r for r in reasons)

    # the ingester is down and the broker restarts: what was published meanwhile still arrives, once
    ingester.stop()
    for batch in range(10, 15):
        client.publish(topic, readings(batch * 10, 10), qos=1).wait_for_publish(5)
        published += 10
    client.loop_stop()
    client.disconnect()
    broker.stop()
    broker.start()
    again = mqtt_ingest.Ingester("127.0.0.1", broker.port).start()
    try:
        ok = wait_for(lambda: Observation.objects.filter(device=device).count() == published)
        assert ok, (Observation.objects.filter(device=device).count(), again.counts)
        time.sleep(0.5)
        assert Observation.objects.filter(device=device).count() == published == 150  # nothing twice
    finally:
        again.stop()


def test_a_device_that_drops_off_is_set_offline_by_its_last_will(broker) -> None:
    device, _ = telemetry.register_device("BTN-0001", "bouton", 3600)
    ingester = mqtt_ingest.Ingester("127.0.0.1", broker.port).start()
    try:
        client = publisher(broker.port, device.serial)
        client.publish(mqtt_ingest.state_topic(device.serial), "en_ligne", qos=1, retain=True).wait_for_publish(5)
        assert wait_for(lambda: Device.objects.get(pk=device.pk).state == "en_ligne")
        client._sock.close()  # the connection drops without a DISCONNECT: the broker publishes the Last Will
        assert wait_for(lambda: Device.objects.get(pk=device.pk).state == "hors_ligne", timeout=60)
        client.loop_stop()
    finally:
        ingester.stop()
