"""The composition root of channel clients: built once per process from the settings, one long-lived HTTP
client shared by the SMS providers. Tests reset them after changing the settings."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from proactif.kernel import clock
from proactif.messaging._channels.base import ChannelClient
from proactif.messaging._channels.email import SmtpClient
from proactif.messaging._channels.http import HttpClient
from proactif.messaging._channels.letter import LetterClient
from proactif.messaging._channels.meta import MessengerClient, WhatsAppClient
from proactif.messaging._channels.push import WebPushClient, vapid_key_file
from proactif.messaging._channels.sms import HttpSmsClient, SmsRouter, parse_providers

_lock = threading.Lock()
_built: dict[str, Any] = {}


def _settings() -> Any:
    from django.conf import settings

    return settings


def sms_router() -> SmsRouter:
    with _lock:
        if "sms" not in _built:
            s = _settings()
            seconds = s.SMS_TIMEOUT_MS / 1000
            http = HttpClient(timeout=seconds, connect_timeout=min(2.0, seconds))
            _built["http"] = http
            _built["sms"] = SmsRouter([HttpSmsClient(p, s.SMS_SENDER, http)
                                       for p in parse_providers(s.SMS_PROVIDERS)])
        return _built["sms"]  # type: ignore[no-any-return]


def smtp() -> SmtpClient:
    with _lock:
        if "email" not in _built:
            s = _settings()
            sink = s.SMTP_HOST in ("127.0.0.1", "localhost") and s.SMTP_PORT == s.SINK_SMTP_PORT
            _built["email"] = SmtpClient(s.SMTP_HOST, s.SMTP_PORT, s.EMAIL_FROM, s.SMTP_USER, s.SMTP_PASSWORD,
                                         s.SMTP_STARTTLS, is_sink=sink)
        return _built["email"]  # type: ignore[no-any-return]


def push() -> WebPushClient:
    with _lock:
        if "push" not in _built:
            s = _settings()
            _built["push"] = WebPushClient(vapid_key_file(s.PUSH_VAPID_PRIVATE_KEY, Path(s.HOME)), s.PUSH_CONTACT,
                                           sink_prefix=f"http://127.0.0.1:{s.SINK_HTTP_PORT}/push/")
        return _built["push"]  # type: ignore[no-any-return]


def _meta_http() -> HttpClient:
    if "meta-http" not in _built:
        s = _settings()
        _built["meta-http"] = HttpClient(timeout=s.SMS_TIMEOUT_MS / 1000, connect_timeout=2.0)
    return _built["meta-http"]  # type: ignore[no-any-return]


def meta(channel: str) -> WhatsAppClient | MessengerClient:
    """WhatsApp Cloud API or Messenger Send API; without `PROACTIF_WHATSAPP_URL` / `PROACTIF_MESSENGER_URL`,
    the built-in sink."""
    with _lock:
        if channel not in _built:
            s = _settings()
            prefix = channel.upper()
            url = getattr(s, f"{prefix}_URL")
            client = WhatsAppClient if channel == "whatsapp" else MessengerClient
            option = s.WHATSAPP_TEMPLATE if channel == "whatsapp" else s.MESSENGER_TAG
            _built[channel] = client(url or f"http://127.0.0.1:{s.SINK_HTTP_PORT}/meta/{channel}/messages",
                                     getattr(s, f"{prefix}_TOKEN"), _meta_http(), option, is_sink=not url)
        return _built[channel]  # type: ignore[no-any-return]


def letters() -> LetterClient:
    s = _settings()
    return LetterClient(Path(s.LETTERS_DIR), s.LETTER_SENDER_ADDRESS.split("|"), clock.today())


def client_for(channel: str, key: str, attempt: int, previous: str = "", unknown: bool = False) -> ChannelClient:
    """The client of an attempt. `previous` is the provider of the message's previous attempt and `unknown`
    whether its outcome is unknown: then this attempt goes to the same provider (SMS: never another one)."""
    if channel == "sms":
        return sms_router().client_for(key, attempt, previous, unknown)
    if channel == "email":
        return smtp()
    if channel == "push":
        return push()
    if channel == "letter":
        return letters()
    if channel in ("whatsapp", "messenger"):
        return meta(channel)
    raise ValueError(f"canal inconnu : {channel}")


def record_outcome(channel: str, client: ChannelClient, ok: bool) -> None:
    if channel == "sms" and isinstance(client, HttpSmsClient):
        sms_router().record(client, ok)


def reset() -> None:
    """Forget the clients (after a settings change: tests, sinks started on other ports)."""
    with _lock:
        for name in ("http", "meta-http"):
            http = _built.get(name)
            if http is not None:
                http.close()
        _built.clear()


def sms_secret(provider: str) -> str | None:
    for client in sms_router().clients:
        if client.name == provider:
            return client.provider.secret
    return None
