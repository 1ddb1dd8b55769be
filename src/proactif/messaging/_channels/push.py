"""Web Push (RFC 8030) with VAPID (RFC 8292) and encrypted payloads (RFC 8291), through pywebpush."""

from __future__ import annotations

import json
from pathlib import Path

from proactif.messaging._channels.base import ChannelClient, Outgoing, PermanentError, TemporaryError, UnknownOutcome


def vapid_key_file(configured: str | None, home: Path) -> str:
    """The VAPID private key (PEM path): configured, or generated once in $PROACTIF_HOME."""
    if configured:
        return configured
    path = home / "vapid.pem"
    if not path.exists():
        from py_vapid import Vapid01

        vapid = Vapid01()
        vapid.generate_keys()
        vapid.save_key(str(path))
        path.chmod(0o600)
    return str(path)


def application_server_key(pem_path: str) -> str:
    """The public key browsers need to subscribe (base64url, uncompressed point)."""
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from py_vapid import Vapid01

    vapid = Vapid01.from_file(pem_path)
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class WebPushClient(ChannelClient):
    channel = "push"
    name = "webpush"

    def __init__(self, private_key_file: str, contact: str, sink_prefix: str = ""):
        self.private_key_file = private_key_file
        self.contact = contact
        self.sink_prefix = sink_prefix

    def is_sink_for(self, message: Outgoing) -> bool:
        return bool(self.sink_prefix) and message.recipient.startswith(self.sink_prefix)

    def _send(self, message: Outgoing) -> str:
        import requests
        from pywebpush import WebPushException, webpush

        subscription = json.loads(message.meta["subscription"])
        payload = json.dumps({"title": message.subject, "body": message.body, "url": message.meta.get("url", ""),
                              "tag": message.key[-64:]})
        try:
            response = webpush(subscription_info=subscription, data=payload, vapid_private_key=self.private_key_file,
                               vapid_claims={"sub": self.contact}, timeout=10,
                               headers={"Idempotency-Key": message.key})
        except requests.exceptions.ConnectTimeout as exc:  # nothing was sent
            raise ConnectionError(f"connexion impossible : {exc}") from None
        except (requests.exceptions.ReadTimeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise UnknownOutcome(f"sans réponse : {type(exc).__name__}") from None
        except requests.exceptions.ConnectionError as exc:  # refused before sending, or reset after it
            if "NewConnectionError" in repr(exc) or "NameResolutionError" in repr(exc):
                raise ConnectionError(f"connexion impossible : {type(exc).__name__}") from None
            raise UnknownOutcome(f"sans réponse : {type(exc).__name__}") from None
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in (404, 410):
                raise PermanentError(f"abonnement expiré (HTTP {status})") from None
            if status == 429 or status >= 500:
                raise TemporaryError(f"HTTP {status}") from None
            raise PermanentError(f"HTTP {status}") from None
        return str(response.headers.get("Location", "")) if hasattr(response, "headers") else ""
