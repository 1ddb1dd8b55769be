"""Built-in sinks: a local SMTP server and an HTTP server emulating the SMS gateways and a push service.
They let the demo and the tests run the real adapters end to end without reaching the outside world;
the interface shows what they received (Messages → Boîte de réception des sinks)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proactif.kernel import database
from proactif.kernel.logging import get_logger
from proactif.messaging._sinks import smtp as smtp_sink
from proactif.messaging._sinks.http import SinkConfig, SinkHttpServer
from proactif.messaging._sinks.store import Received, SinkStore

log = get_logger(__name__)


def smtp_deliverer(store: SinkStore) -> Callable[[list[str], bytes], None]:
    """What the SMTP sink does with a message: keep it for each recipient, by idempotency key."""

    def deliver(recipients: list[str], raw: bytes) -> None:
        key, subject, text = smtp_sink.read(raw)
        for recipient in recipients:
            store.record(Received("email", "smtp", key, recipient, subject, text))

    return deliver


@dataclass
class Sinks:
    store: SinkStore
    http: SinkHttpServer
    smtp: smtp_sink.SmtpSink
    http_port: int
    smtp_port: int

    def pump(self) -> int:
        """Manual mode: apply queued receipts and replies, write what was received — in this thread."""
        self.store.flush()
        done = self.http.pump()
        self.store.flush()
        return done

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for the receipts and replies still queued, then write what was received."""
        import time

        if self.http.config.receipts == "manual":
            self.pump()
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.http.callbacks.unfinished_tasks or not self.http.callbacks.empty()):
            time.sleep(0.05)
        self.store.flush()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.smtp.stop()
        self.store.close()

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


_running: Sinks | None = None
_lock = threading.Lock()
RECONNECT_SECONDS = 120.0  # how long a receipt waits for a database that went away before it is dropped


def push_keys_file() -> Path:
    from django.conf import settings

    return Path(settings.HOME) / "sink-push-keys.json"


def load_push_keys() -> dict[str, str]:
    path = push_keys_file()
    return json.loads(path.read_text()) if path.exists() else {}


def start(http_port: int, smtp_port: int, receipts: str = "http", receipt_delay: float = 0.5) -> Sinks:
    """Start both sinks in this process (idempotent: a second call returns the running ones)."""
    global _running
    from django.conf import settings

    from proactif.messaging import _receipts as receipt_service

    with _lock:
        if _running is not None:
            return _running
        providers = {p["name"]: p for p in json.loads(settings.SMS_PROVIDERS)}
        store = SinkStore(None if receipts == "manual" else 0.1)
        base = settings.PUBLIC_URL.rstrip("/")
        config = SinkConfig(
            providers=providers, receipts=receipts, receipt_delay=receipt_delay,
            receipt_url=lambda provider: f"{base}/api/v1/messaging/receipts/{provider}",
            inbound_url=lambda provider: f"{base}/api/v1/messaging/inbound/{provider}",
            # applied in the receipts thread, whose connection a PostgreSQL restart closes: on a new one
            direct_receipt=database.retrying(receipt_service.apply_signed_receipt, RECONNECT_SECONDS, "receipt"),
            direct_inbound=database.retrying(receipt_service.apply_signed_inbound, RECONNECT_SECONDS, "inbound"),
            push_keys=load_push_keys())
        http = SinkHttpServer(("127.0.0.1", http_port), store, config)
        threading.Thread(target=http.serve_forever, name="proactif-sink-http", daemon=True).start()
        smtp_server = smtp_sink.SmtpSink(smtp_deliverer(store), "127.0.0.1", smtp_port)
        smtp_server.start()
        _running = Sinks(store, http, smtp_server, http.server_address[1], smtp_port)
        log.info("sinks started", http_port=_running.http_port, smtp_port=smtp_port, receipts=receipts)
        return _running


def running() -> Sinks | None:
    return _running


def stop() -> None:
    global _running
    with _lock:
        if _running is not None:
            _running.stop()
            _running = None


def fake_push_subscription(sink_url: str, subscription_id: str) -> dict[str, Any]:
    """A browser-like push subscription served by the sink, which keeps the private key to read payloads."""
    import os

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    auth = os.urandom(16)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    secret = private.private_numbers().private_value.to_bytes(32, "big")
    keys = load_push_keys()
    keys[subscription_id] = b64(secret)
    keys[f"{subscription_id}:auth"] = b64(auth)
    push_keys_file().write_text(json.dumps(keys))
    if _running is not None:
        _running.http.config.push_keys.update(keys)
    return {"endpoint": f"{sink_url}/push/{subscription_id}", "keys": {"p256dh": b64(public), "auth": b64(auth)}}
