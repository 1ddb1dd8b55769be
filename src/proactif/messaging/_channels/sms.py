"""SMS over HTTP provider APIs, in two formats, with weighted failover between providers.

- `json`: POST {"to", "text", "sender", "reference"} with a bearer token (the shape of most French SMS
  gateways' REST APIs); answers {"id": …}.
- `form`: POST form-encoded To/From/Body with HTTP basic auth (the shape of Twilio-like APIs); answers
  {"sid": …}.
Both send the idempotency key in an `Idempotency-Key` header. 4xx answers are permanent (except 408 and
429), 429 and 5xx temporary, a connection that could not be opened technical, no answer after the request
left (read timeout, reset) unknown. The first attempt goes to a provider drawn by weight (stable for a given
message); after a definite refusal (an answer, or no connection) the next attempt goes to the next provider;
after an unknown outcome it goes to the same provider with the same key, which delivers it once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from proactif.messaging._channels.base import ChannelClient, Outgoing, PermanentError, TemporaryError
from proactif.messaging._channels.http import HttpClient


@dataclass(frozen=True)
class SmsProvider:
    name: str
    format: str
    url: str
    weight: int
    token: str
    secret: str
    sink: bool = False


def parse_providers(raw: str) -> list[SmsProvider]:
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"PROACTIF_SMS_PROVIDERS n'est pas du JSON valide : {exc}") from exc
    providers = []
    for item in items:
        if item.get("format") not in ("json", "form"):
            raise ValueError(f"format de fournisseur SMS inconnu : {item.get('format')} (json ou form)")
        providers.append(SmsProvider(item["name"], item["format"], item["url"], int(item.get("weight", 1)),
                                     item.get("token", ""), item.get("secret", ""),
                                     bool(item.get("sink", "127.0.0.1" in item["url"] or "localhost" in item["url"]))))
    if not providers:
        raise ValueError("aucun fournisseur SMS configuré")
    return providers


class HttpSmsClient(ChannelClient):
    channel = "sms"
    dedupes = True  # the gateway keeps the Idempotency-Key: the same key sent twice is delivered once

    def __init__(self, provider: SmsProvider, sender: str, http: HttpClient):
        self.provider = provider
        self.name = provider.name
        self.is_sink = provider.sink
        self.sender = sender
        self.http = http

    def _send(self, message: Outgoing) -> str:
        headers = {"Idempotency-Key": message.key, "Accept": "application/json"}
        if self.provider.format == "json":
            body = json.dumps({"to": message.recipient, "text": message.body, "sender": self.sender,
                               "reference": message.key}).encode()
            headers.update({"Authorization": f"Bearer {self.provider.token}", "Content-Type": "application/json"})
        else:
            body = urlencode({"To": message.recipient, "From": self.sender, "Body": message.body,
                              "Reference": message.key}).encode()
            credentials = base64.b64encode(f"{self.provider.name}:{self.provider.token}".encode()).decode()
            headers.update({"Authorization": f"Basic {credentials}",
                            "Content-Type": "application/x-www-form-urlencoded"})
        response = self.http.post(self.provider.url, body, headers)
        if response.status in (408, 429) or response.status >= 500:
            raise TemporaryError(f"HTTP {response.status}")
        if response.status >= 400:
            raise PermanentError(f"HTTP {response.status}: {response.body[:200].decode('utf-8', 'replace')}")
        try:
            answer: dict[str, Any] = json.loads(response.body or b"{}")
        except ValueError:  # accepted (2xx) with an answer we cannot read: sent all the same, without its id
            return ""
        if not isinstance(answer, dict):
            return ""
        return str(answer.get("id") or answer.get("sid") or "")


class SmsRouter:
    """Chooses a provider per attempt: by weight first (stable per message), then the next ones; a provider
    that failed three times in a row is skipped for thirty seconds (circuit breaker)."""

    def __init__(self, clients: list[HttpSmsClient]):
        self.clients = clients
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._open_until: dict[str, float] = {}

    def order(self, key: str, healthy_only: bool = True) -> list[HttpSmsClient]:
        total = sum(c.provider.weight for c in self.clients) or 1
        point = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % total
        primary = 0
        for index, client in enumerate(self.clients):
            if point < client.provider.weight:
                primary = index
                break
            point -= client.provider.weight
        ordered = self.clients[primary:] + self.clients[:primary]
        if not healthy_only:
            return ordered
        now = time.monotonic()
        healthy = [c for c in ordered if self._open_until.get(c.name, 0) <= now]
        return healthy or ordered

    def client_for(self, key: str, attempt: int, previous: str = "", unknown: bool = False) -> HttpSmsClient:
        """The provider of this attempt: the one of the previous attempt when its outcome is unknown (it may
        have the message: only it can deliver it once); after a definite refusal, the next one after it; the
        first attempt (or a previous provider no longer configured), the weighted order by attempt."""
        by_name = {client.name: client for client in self.clients}
        if unknown and previous in by_name:
            return by_name[previous]
        ordered = self.order(key)
        if previous in by_name:
            everyone = self.order(key, healthy_only=False)
            start = everyone.index(by_name[previous]) + 1
            after = everyone[start:] + everyone[:start]
            return next((client for client in after if client in ordered), after[0])
        return ordered[(attempt - 1) % len(ordered)]

    def record(self, client: HttpSmsClient, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures[client.name] = 0
                return
            self._failures[client.name] = self._failures.get(client.name, 0) + 1
            if self._failures[client.name] >= 3:
                self._open_until[client.name] = time.monotonic() + 30
                self._failures[client.name] = 0
