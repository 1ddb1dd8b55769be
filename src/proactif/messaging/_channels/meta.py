"""WhatsApp (Cloud API) and Messenger (Send API), in Meta's Graph API message formats.

- WhatsApp: POST `…/PHONE_NUMBER_ID/messages` with a bearer token, `{"messaging_product": "whatsapp",
  "recipient_type": "individual", "to": "<digits>", "type": "text", "text": {"preview_url": false, "body": …}}`
  — or, outside the 24-hour window a resident's last message opens, an approved template whose body parameter
  carries the text (`"type": "template"`). Answer: `{"messages": [{"id": "wamid…"}]}`.
- Messenger: POST `…/PAGE_ID/messages` with the page token, `{"recipient": {"id": PSID}, "messaging_type":
  "UPDATE" | "MESSAGE_TAG", "tag": …, "message": {"text": …, "metadata": …}}`. Answer: `{"message_id": "m_…"}`.

The idempotency key travels where each API echoes it back in its webhooks (`biz_opaque_callback_data`,
`metadata`); neither API deduplicates, so the outbox's claim-and-lease is what sends a message once. Errors
come as `{"error": {"code", "message", …}}`: throttling codes (4, 80007, 130429, 131056) and 5xx are temporary,
other 4xx permanent.
"""

from __future__ import annotations

import json
from typing import Any

from proactif.messaging._channels.base import ChannelClient, Outgoing, PermanentError, TemporaryError
from proactif.messaging._channels.http import HttpClient

THROTTLED = {4, 17, 32, 613, 80007, 130429, 131048, 131056}


class MetaClient(ChannelClient):
    name = "meta"

    def __init__(self, url: str, token: str, http: HttpClient, is_sink: bool = False):
        self.url = url
        self.token = token
        self.http = http
        self.is_sink = is_sink

    def payload(self, message: Outgoing) -> dict[str, Any]:
        raise NotImplementedError

    def _send(self, message: Outgoing) -> str:
        body = json.dumps(self.payload(message), ensure_ascii=False).encode()
        response = self.http.post(self.url, body, {"Authorization": f"Bearer {self.token}",
                                                   "Content-Type": "application/json", "Accept": "application/json"})
        try:
            answer: dict[str, Any] = json.loads(response.body or b"{}")
        except json.JSONDecodeError:
            answer = {}
        error = answer.get("error") or {}
        if response.status >= 500 or response.status == 429 or error.get("code") in THROTTLED:
            raise TemporaryError(f"HTTP {response.status} code {error.get('code', '')}")
        if response.status >= 400 or error:
            raise PermanentError(f"HTTP {response.status} code {error.get('code', '')}: "
                                 f"{str(error.get('message', ''))[:200]}")
        return self.message_id(answer)

    def message_id(self, answer: dict[str, Any]) -> str:
        raise NotImplementedError


class WhatsAppClient(MetaClient):
    channel = "whatsapp"
    name = "whatsapp-cloud"

    def __init__(self, url: str, token: str, http: HttpClient, template: str = "", is_sink: bool = False):
        super().__init__(url, token, http, is_sink)
        self.template = template  # "name:language" of an approved template, or "" for plain text

    def payload(self, message: Outgoing) -> dict[str, Any]:
        out: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                               "to": message.recipient.lstrip("+"), "biz_opaque_callback_data": message.key}
        if self.template:
            name, _, language = self.template.partition(":")
            out.update(type="template", template={"name": name, "language": {"code": language or "fr"},
                                                  "components": [{"type": "body", "parameters": [
                                                      {"type": "text", "text": message.body}]}]})
        else:
            out.update(type="text", text={"preview_url": False, "body": message.body})
        return out

    def message_id(self, answer: dict[str, Any]) -> str:
        messages = answer.get("messages") or [{}]
        return str(messages[0].get("id", ""))


class MessengerClient(MetaClient):
    channel = "messenger"
    name = "messenger"

    def __init__(self, url: str, token: str, http: HttpClient, tag: str = "", is_sink: bool = False):
        super().__init__(url, token, http, is_sink)
        self.tag = tag

    def payload(self, message: Outgoing) -> dict[str, Any]:
        out: dict[str, Any] = {"recipient": {"id": message.recipient},
                               "message": {"text": message.body[:2000], "metadata": message.key[:1000]}}
        if self.tag:
            out.update(messaging_type="MESSAGE_TAG", tag=self.tag)
        else:
            out["messaging_type"] = "UPDATE"
        return out

    def message_id(self, answer: dict[str, Any]) -> str:
        return str(answer.get("message_id", ""))
