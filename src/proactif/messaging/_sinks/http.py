"""The built-in SMS and push providers: an HTTP server that speaks both SMS API formats and the Web Push
protocol, keeps what it receives, signs delivery receipts back like a real gateway, can inject failures
(HTTP 500, timeouts) for the reliability tests, and relays simulated citizen replies (STOP…)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

# Imported here, by the thread that imports this module, never first by the receipts thread: the web
# server forks its workers after starting the sinks, and a fork during a thread's import would leave that
# module's import lock held forever in the worker (its next `import httpx` would hang)
import httpx

from proactif.kernel import clock
from proactif.kernel.logging import get_logger
from proactif.messaging._sinks.store import Received, SinkStore

log = get_logger(__name__)


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """A gateway's signature: hex HMAC-SHA256 of `<timestamp>.<body>` (sent with `X-Proactif-Timestamp`)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass
class Fault:
    status: int = 0  # answer this HTTP status…
    delay: float = 0.0  # …or wait this long before answering (a timeout for the client)
    count: int = 0  # for the next `count` requests


@dataclass
class SinkConfig:
    providers: dict[str, dict[str, Any]]  # name → {"token", "secret", "format"}
    receipts: str = "http"  # http | direct | manual (applied by pump(), in the caller's thread) | off
    receipt_delay: float = 0.5
    receipt_url: Callable[[str], str] = lambda provider: ""
    inbound_url: Callable[[str], str] = lambda provider: ""
    direct_receipt: Callable[[str, bytes, str, str], None] | None = None  # (provider, body, signature, timestamp)
    direct_inbound: Callable[[str, bytes, str, str], None] | None = None
    push_keys: dict[str, str] = field(default_factory=dict)  # subscription id → private key (base64url)


class SinkHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: SinkStore, config: SinkConfig):
        self.store = store
        self.config = config
        self.faults: dict[str, Fault] = {}
        self.fault_lock = threading.Lock()
        self.callbacks: queue.Queue[tuple[str, str, bytes]] = queue.Queue()
        super().__init__(address, SinkHandler)
        if config.receipts in ("http", "direct"):
            threading.Thread(target=self._deliver_callbacks, name="proactif-sink-receipts", daemon=True).start()

    def take_fault(self, provider: str) -> Fault | None:
        with self.fault_lock:
            fault = self.faults.get(provider)
            if fault and fault.count > 0:
                fault.count -= 1
                return fault
        return None

    def _deliver_callbacks(self) -> None:
        client = httpx.Client(timeout=10)
        while True:
            kind, provider, body = self.callbacks.get()
            if self.config.receipts == "http":
                time.sleep(self.config.receipt_delay)
            try:
                self._deliver(client, kind, provider, body)
            except Exception:
                log.exception("sink callback failed", kind=kind, provider=provider)
            finally:
                self.callbacks.task_done()

    def _deliver(self, client: Any, kind: str, provider: str, body: bytes) -> None:
        secret = self.config.providers.get(provider, {}).get("secret", "")
        # signed when it leaves (wall time, as the platform checks it): a receipt queued a while is not a replay
        timestamp = str(int(clock.real_now().timestamp()))
        signature = sign(secret, body, timestamp)
        if self.config.receipts in ("direct", "manual"):
            target = self.config.direct_receipt if kind == "receipt" else self.config.direct_inbound
            if target:
                target(provider, body, signature, timestamp)
        else:
            url = (self.config.receipt_url if kind == "receipt" else self.config.inbound_url)(provider)
            client.post(url, content=body, headers={"Content-Type": "application/json",
                                                    "X-Proactif-Timestamp": timestamp,
                                                    "X-Proactif-Signature": signature})

    def pump(self) -> int:
        """Apply the queued receipts and replies now, in this thread (a simulation keeps SQLite to a single
        writer this way)."""
        done = 0
        while True:
            try:
                kind, provider, body = self.callbacks.get_nowait()
            except queue.Empty:
                return done
            try:
                self._deliver(None, kind, provider, body)
                done += 1
            finally:
                self.callbacks.task_done()


class Headers(dict[str, str]):
    """Request headers by case-insensitive name."""

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stall per request
    wbufsize = -1  # buffered: the response goes out in one write when the handler flushes
    server: SinkHttpServer

    def log_message(self, format: str, *args: Any) -> None:  # silence the default access log (it names numbers)
        return

    def parse_request(self) -> bool:
        """The request line and headers, read without the `email` parser the standard handler uses (a
        large share of a request's cost at thousands of requests a second)."""
        self.command = None
        self.request_version = version = "HTTP/0.9"
        self.close_connection = True
        self.requestline = line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self.send_error(400, "Bad request line")
            return False
        self.command, self.path, version = parts
        self.request_version = version
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(505, f"Unsupported HTTP version {version}")
            return False
        headers = Headers()
        for _ in range(100):
            raw = self.rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("iso-8859-1").partition(":")
            headers[name.strip()] = value.strip()
        else:
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers  # type: ignore[assignment]
        connection = headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        if headers.get("Expect", "").lower() == "100-continue":
            self.send_response_only(100)
            self.end_headers()
        return True

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        if self.path == "/_stats":
            self._reply(200, self.server.store.stats())
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = self._body()
        path = self.path.split("?")[0]
        if path == "/_control":
            spec = json.loads(body or b"{}")
            with self.server.fault_lock:
                self.server.faults[spec["provider"]] = Fault(int(spec.get("status", 0)), float(spec.get("delay", 0)),
                                                             int(spec.get("count", 1)))
            self._reply(200, {"ok": True})
        elif path in ("/sms/json", "/sms/form"):
            self._sms(path.rsplit("/", 1)[1], body)
        elif path.startswith("/push/"):
            self._push(path.rsplit("/", 1)[1], body)
        elif path in ("/meta/whatsapp/messages", "/meta/messenger/messages"):
            self._meta(path.split("/")[2], body)
        elif path == "/sms/inbound":
            spec = json.loads(body)
            provider = spec.get("provider") or next(iter(self.server.config.providers))
            payload = json.dumps({"from": spec["from"], "text": spec["text"], "provider": provider}).encode()
            self.server.callbacks.put(("inbound", provider, payload))
            self._reply(202, {"queued": True})
        else:
            self._reply(404, {"error": "not found"})

    def _provider(self, fmt: str) -> str | None:
        for name, spec in self.server.config.providers.items():
            if spec.get("format") != fmt:
                continue
            if fmt == "json" and self.headers.get("Authorization") == f"Bearer {spec.get('token')}":
                return name
            if fmt == "form":
                expected = base64.b64encode(f"{name}:{spec.get('token')}".encode()).decode()
                if self.headers.get("Authorization") == f"Basic {expected}":
                    return name
        return None

    def _sms(self, fmt: str, body: bytes) -> None:
        provider = self._provider(fmt)
        if provider is None:
            self._reply(401, {"error": "authentication failed"})
            return
        fault = self.server.take_fault(provider)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            self._reply(fault.status, {"error": "injected failure"})
            return
        if fmt == "json":
            data = json.loads(body)
            to, text, key = data.get("to", ""), data.get("text", ""), data.get("reference", "")
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            to, text, key = form.get("To", ""), form.get("Body", ""), form.get("Reference", "")
        key = self.headers.get("Idempotency-Key") or key
        if not to.startswith("+") or not text:
            self._reply(400, {"error": "invalid recipient or empty text"})
            return
        message_id = f"{provider}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        fresh = self.server.store.record(Received("sms", provider, key, to, "", text))
        if fresh and self.server.config.receipts != "off":
            receipt = json.dumps({"id": message_id, "reference": key, "status": "delivered"}).encode()
            self.server.callbacks.put(("receipt", provider, receipt))
        self._reply(201, {"id": message_id, "sid": message_id, "status": "accepted"})

    def _meta(self, channel: str, body: bytes) -> None:
        """WhatsApp Cloud API and Messenger Send API, as Meta's Graph API answers them (errors included)."""
        fault = self.server.take_fault(channel)
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.status:
            self._reply(fault.status, {"error": {"message": "injected failure", "type": "OAuthException",
                                                 "code": 130429 if fault.status == 429 else 2, "fbtrace_id": "sink"}})
            return
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            self._reply(401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                        "code": 190, "fbtrace_id": "sink"}})
            return
        try:
            data = json.loads(body)
            if channel == "whatsapp":
                to, key = str(data["to"]), str(data.get("biz_opaque_callback_data", ""))
                if data.get("messaging_product") != "whatsapp" or not to.isdigit():
                    raise ValueError("messaging_product or to")
                if data.get("type") == "template":
                    text = data["template"]["components"][0]["parameters"][0]["text"]
                else:
                    text = data["text"]["body"]
            else:
                to, text = str(data["recipient"]["id"]), str(data["message"]["text"])
                key = str(data["message"].get("metadata", ""))
                if data.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
                    raise ValueError("messaging_type")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            self._reply(400, {"error": {"message": f"(#100) Invalid parameter: {exc}", "type": "OAuthException",
                                        "code": 100, "fbtrace_id": "sink"}})
            return
        digest = hashlib.sha256((key or body.decode("utf-8", "replace")).encode()).hexdigest()[:24]
        self.server.store.record(Received(channel, "meta", key or digest, to, "", text))
        if channel == "whatsapp":
            self._reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                              "messages": [{"id": f"wamid.{digest}"}]})
        else:
            self._reply(200, {"recipient_id": to, "message_id": f"m_{digest}"})

    def _push(self, subscription_id: str, body: bytes) -> None:
        key = self.headers.get("Idempotency-Key", "")
        private = self.server.config.push_keys.get(subscription_id)
        title, text = "", "(contenu chiffré)"
        if private:
            try:
                import http_ece
                from cryptography.hazmat.primitives.asymmetric import ec

                secret = base64.urlsafe_b64decode(private + "=" * (-len(private) % 4))
                auth = self.server.config.push_keys.get(f"{subscription_id}:auth", "")
                key_obj = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
                plain = http_ece.decrypt(body, private_key=key_obj, version="aes128gcm",
                                         auth_secret=base64.urlsafe_b64decode(auth + "=" * (-len(auth) % 4)))
                payload = json.loads(plain)
                title, text = payload.get("title", ""), payload.get("body", "")
                key = key or payload.get("tag", "")
            except Exception as exc:
                text = f"(déchiffrement impossible : {type(exc).__name__})"
        self.server.store.record(Received("push", "webpush", key or hashlib.sha256(body).hexdigest(),
                                          subscription_id, title, text))
        self.send_response(201)
        self.send_header("Location", f"/push/{subscription_id}/messages/{hashlib.sha256(body).hexdigest()[:12]}")
        self.send_header("Content-Length", "0")
        self.end_headers()
