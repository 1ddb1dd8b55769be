"""The production broker's security (issue 18 §1) on a real Mosquitto started with the configuration
`proactif watch broker-config` writes (a throwaway CA and server certificate made here): TLS only, one credential per
device (its token, hashed by mosquitto_passwd), an ACL limiting each device to its own topics.

A device stores readings on its own topic over TLS; on another device's topic nothing is stored (MQTT 5: the broker
answers "not authorized"; 3.1.1: it drops the message silently) and it reads nothing; a wrong password, an anonymous
client, plain TCP on the TLS port and a client that does not trust the CA are refused; a device added while the broker
runs connects once it has reloaded its files (SIGHUP), and a revoked one no longer can."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from proactif.watch import _broker as broker
from proactif.watch import _mqtt as mqtt_ingest
from proactif.watch import _telemetry as telemetry
from proactif.watch.models import DeadLetter, Device, HourlyAggregate, Observation
from tests.conftest import require
from tests.sinks import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
T0 = datetime(2026, 7, 14, 6, 0, tzinfo=UTC)
INGESTER_PASSWORD = "ingester-secret-0123456789"  # a throwaway broker's


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost, signed by it, valid one day: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Proactif test CA")).issuer_name(name("Proactif test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    import ipaddress

    server = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


class SecureBroker:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.ca, cert, key = certificates(folder)
        # persistence off, `user root`: as root mosquitto would drop to its own user, who cannot read the test's folder
        self.files = broker.write_config(folder / "mosquitto", cert=cert, key=key, ca=self.ca,
                                         ingester_password=INGESTER_PASSWORD, port=self.port, bind="127.0.0.1",
                                         persistence_location=None, run_as="root")
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.files.conf), "-v"], stdout=log,
                                            stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-2000:]}")

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password and ACL files again."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def secure(tmp_path):
    require(Path(MOSQUITTO).exists(), "mosquitto is not installed")
    require(Path(broker.PASSWD_BINARY).exists() or bool(shutil.which("mosquitto_passwd")),
            "mosquitto_passwd is not installed")
    running = SecureBroker(tmp_path)
    yield running
    running.stop()


class Client:
    """A device's (or anyone's) MQTT connection, recording what the broker said."""

    def __init__(self, port: int, username: str | None, password: str | None, *, ca: Path | None,
                 v5: bool = True, client_id: str = "", trust_system_only: bool = False):
        import paho.mqtt.client as mqtt

        self.connected, self.closed = threading.Event(), threading.Event()
        self.connack: Any = None
        self.pubacks: dict[int, Any] = {}
        self.received: list[str] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"c-{time.monotonic_ns()}",
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        elif trust_system_only:
            self.client.tls_set()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: self.closed.set()
        self.client.on_publish = lambda c, u, mid, reason, props: self.pubacks.__setitem__(mid, reason)
        self.client.on_message = lambda c, u, message: self.received.append(message.topic)
        self.port = port

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        self.connack = reason
        if not reason.is_failure:
            self.connected.set()
        else:
            self.closed.set()

    def open(self, timeout: float = 5) -> bool:
        """True once the broker accepted the connection; False if it refused or closed it."""
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.connected.is_set() and not self.closed.is_set():
            time.sleep(0.02)
        return self.connected.is_set() and not self.closed.is_set()

    def publish(self, topic: str, payload: bytes) -> Any:
        """Publish at QoS 1 and wait for the PUBACK: its reason code (MQTT 5) or None (3.1.1)."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(5)
        assert info.is_published()
        end = time.monotonic() + 2
        while info.mid not in self.pubacks and time.monotonic() < end:
            time.sleep(0.01)
        return self.pubacks.get(info.mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def readings(minute: int, spo2: float = 96) -> bytes:
    at = (T0 + timedelta(minutes=minute)).isoformat()
    return json.dumps({"mesures": [{"code": "spo2", "valeur": spo2, "unite": "%", "le": at},
                                   {"code": "heart_rate", "valeur": 70, "unite": "/min", "le": at}]}).encode()


def wait_for(condition, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def stored(serial: str) -> int:
    return Observation.objects.filter(device__serial=serial).count()


def test_each_device_publishes_on_its_own_topics_only_over_tls_with_its_own_credential(secure) -> None:
    passwd = secure.files.passwd
    device_a, token_a = broker.add_device("SEC-A", "oxymetre", 60, passwd)
    device_b, token_b = broker.add_device("SEC-B", "oxymetre", 60, passwd)
    telemetry.lend(device_a, 101, date(2026, 7, 1))
    telemetry.lend(device_b, 102, date(2026, 7, 1))
    lines = passwd.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == [broker.INGESTER_USER, "SEC-A", "SEC-B"]
    assert all(line.split(":", 1)[1].startswith("$7$") for line in lines)  # Mosquitto's PBKDF2-SHA512
    assert token_a not in passwd.read_text()
    secure.start()

    ingester = mqtt_ingest.Ingester("127.0.0.1", secure.port, username=broker.INGESTER_USER,
                                    password=INGESTER_PASSWORD, tls=True, ca_file=str(secure.ca),
                                    client_id="proactif-ingester-test").start(wait=10)
    try:
        assert ingester.subscribed.is_set(), secure.log.read_text()[-2000:]
        a = Client(secure.port, "SEC-A", token_a, ca=secure.ca)
        assert a.open(), a.connack

        # its own topic, over TLS: stored
        reason = a.publish(mqtt_ingest.readings_topic("SEC-A"), readings(0))
        assert not reason.is_failure, reason
        assert wait_for(lambda: stored("SEC-A") == 2)

        # B's topic with A's credential (MQTT 5): refused by the broker, never reaches the ingester
        reason = a.publish(mqtt_ingest.readings_topic("SEC-B"), readings(1, spo2=80))
        assert reason.is_failure and reason.value == 135, reason  # 0x87 Not authorized
        a.publish(mqtt_ingest.state_topic("SEC-B"), b"hors_ligne")
        # a later legitimate message of A is stored: the forged ones had their chance to arrive before it
        a.publish(mqtt_ingest.readings_topic("SEC-A"), readings(2))
        assert wait_for(lambda: stored("SEC-A") == 4)

        # the same over MQTT 3.1.1, where the broker drops the message silently
        a311 = Client(secure.port, "SEC-A", token_a, ca=secure.ca, v5=False)
        assert a311.open(), a311.connack
        a311.publish(mqtt_ingest.readings_topic("SEC-B"), readings(3, spo2=80))
        a311.publish(mqtt_ingest.readings_topic("SEC-A"), readings(4))
        assert wait_for(lambda: stored("SEC-A") == 6)
        a311.close()

        # a device reads nothing: A subscribed to every device's topics hears none of B's messages
        a.client.subscribe("veille/appareils/#", qos=1)
        b = Client(secure.port, "SEC-B", token_b, ca=secure.ca)
        assert b.open(), b.connack
        assert not b.publish(mqtt_ingest.readings_topic("SEC-B"), readings(5)).is_failure
        assert wait_for(lambda: stored("SEC-B") == 2)
        time.sleep(0.3)
        assert a.received == []

        assert stored("SEC-B") == 2 and not Observation.objects.filter(device=device_b, value=80).exists()
        assert Device.objects.get(pk=device_b.pk).state == "en_ligne"  # B's own message, not A's forged state
        assert DeadLetter.objects.count() == 0  # the forged messages never reached the ingester
        assert sum(HourlyAggregate.objects.filter(person_id=102).values_list("count", flat=True)) == 2
        assert ingester.counts["stored"] == 4 and ingester.counts["refused"] == 0, ingester.counts
        a.close()

        # refused: a wrong password, a forged token, an anonymous client, another device's name
        for username, password in (("SEC-A", "not-the-token"), ("SEC-A", token_b), (None, None), ("SEC-C", token_a)):
            intruder = Client(secure.port, username, password, ca=secure.ca)
            assert not intruder.open(), (username, intruder.connack)
            assert intruder.connack is not None and intruder.connack.value in (134, 135), intruder.connack
            intruder.close()
        # plain TCP on the TLS port: no CONNACK, the connection closed
        plain = Client(secure.port, "SEC-A", token_a, ca=None)
        assert not plain.open(3) and plain.connack is None
        plain.close()
        # TLS with a client that does not trust our CA: the handshake fails
        with pytest.raises(ssl.SSLError):
            Client(secure.port, "SEC-A", token_a, ca=None, trust_system_only=True).open()

        # a device added while the broker runs connects once the broker has read its files again (SIGHUP)
        _, token_c = broker.add_device("SEC-C", "bouton", 3600, passwd)
        secure.reload()
        c = Client(secure.port, "SEC-C", token_c, ca=secure.ca)
        assert c.open(), c.connack
        c.close()

        # B revoked: after SIGHUP its open connection is closed and it cannot connect again; the webhook refuses it
        assert telemetry.device_for_token("SEC-B", token_b) is not None
        result = broker.revoke_device("SEC-B", passwd)
        assert result["mqtt_credential_removed"] and "SEC-B" not in broker.users(passwd)
        assert broker.users(passwd) == {broker.INGESTER_USER, "SEC-A", "SEC-C"}
        assert telemetry.device_for_token("SEC-B", token_b) is None
        secure.reload()
        assert wait_for(lambda: b.closed.is_set(), timeout=5), "the revoked device's connection stayed open"
        again = Client(secure.port, "SEC-B", token_b, ca=secure.ca)
        assert not again.open(), again.connack
        again.close()
        b.close()
        # A still connects: revoking B left the other credentials as they were
        a = Client(secure.port, "SEC-A", token_a, ca=secure.ca)
        assert a.open(), a.connack
        a.close()
    finally:
        ingester.stop()


def test_an_ingester_the_broker_refuses_stops_with_the_reason_instead_of_retrying_forever(secure) -> None:
    import threading

    secure.start()
    ingester = mqtt_ingest.Ingester("127.0.0.1", secure.port, username=broker.INGESTER_USER,
                                    password="pas-le-bon", tls=True, ca_file=str(secure.ca),
                                    client_id="proactif-ingester-refused")
    with pytest.raises(mqtt_ingest.Refused, match="connexion refusée") as refused:
        mqtt_ingest.run(ingester, threading.Event())
    assert "password" in str(refused.value).lower() or "authori" in str(refused.value).lower(), refused.value
