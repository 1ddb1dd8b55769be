"""What every channel client shares (after GOV.UK Notify's clients): one `send` that times the call, logs
it without personal data, and sorts failures into permanent (do not retry), temporary (retry later,
maybe elsewhere), technical (the request never left: retry, fail over) and unknown (the request left and no
answer came back — a read timeout, a connection reset: the provider may have it, so it is retried only with
the same provider and the same key)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from proactif.kernel.logging import get_logger
from proactif.messaging import _metrics as metrics

log = get_logger(__name__)


@dataclass(frozen=True)
class Outgoing:
    key: str  # idempotency key, passed to the provider
    channel: str
    recipient: str
    subject: str
    body: str
    synthetic: bool = False  # a synthetic resident: only sinks may receive it
    attempt: int = 1
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    ok: bool
    provider: str
    provider_id: str = ""
    failure: str = ""  # permanent | temporary | technical | unknown
    error: str = ""


class PermanentError(Exception):
    """The provider refused the message for good (invalid number, rejected address…)."""


class TemporaryError(Exception):
    """The provider is busy or down (429, 5xx, 4xx SMTP): retry later, possibly elsewhere."""


class UnknownOutcome(Exception):
    """The request was sent (or may have been) and no answer came: the provider may have accepted it. Retry
    only with the same provider and the same idempotency key, never elsewhere."""


class ChannelClient:
    channel = ""
    name = ""
    is_sink = False
    dedupes = False  # the provider delivers a key once (SMS gateways' Idempotency-Key): a resend is harmless

    def send(self, message: Outgoing) -> Result:
        started = time.monotonic()
        if message.synthetic and not self.is_sink_for(message) and not _synthetic_allowed():
            result = Result(False, self.name, failure="permanent",
                            error="destinataire synthétique : envoi réservé aux sinks (PROACTIF_SEND_TO_SYNTHETIC)")
        else:
            try:
                provider_id = self._send(message)
                result = Result(True, self.name, provider_id=provider_id)
            except PermanentError as exc:
                result = Result(False, self.name, failure="permanent", error=str(exc)[:500])
            except TemporaryError as exc:
                result = Result(False, self.name, failure="temporary", error=str(exc)[:500])
            except UnknownOutcome as exc:
                result = Result(False, self.name, failure="unknown", error=str(exc)[:500])
            except Exception as exc:  # the call itself failed before sending: connection refused, no route
                result = Result(False, self.name, failure="technical", error=f"{type(exc).__name__}: {exc}"[:500])
        elapsed = time.monotonic() - started
        metrics.PROVIDER_CALLS.labels(channel=self.channel, provider=self.name,
                                      outcome="ok" if result.ok else result.failure).inc()
        metrics.PROVIDER_SECONDS.labels(channel=self.channel, provider=self.name).observe(elapsed)
        if not result.ok:
            log.warning("provider call failed", channel=self.channel, provider=self.name, failure=result.failure,
                        key=message.key, error=result.error[:200])
        return result

    def is_sink_for(self, message: Outgoing) -> bool:
        """Whether this message goes to a built-in sink (which may receive synthetic residents)."""
        return self.is_sink

    def _send(self, message: Outgoing) -> str:
        raise NotImplementedError


def _synthetic_allowed() -> bool:
    from django.conf import settings

    return bool(settings.SEND_TO_SYNTHETIC)
