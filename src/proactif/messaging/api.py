"""Provider webhooks, each checked before the operation runs (its declared rule):

- SMS delivery receipts and inbound SMS, signed with the provider's secret over a timestamp
  (`X-Proactif-Timestamp`: Unix seconds; `X-Proactif-Signature`: hex HMAC-SHA256 of `<timestamp>.<body>`);
- WhatsApp Cloud API and Messenger webhooks: Meta's subscription handshake (GET), then events signed with the
  app secret (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from proactif.messaging import _feedback as feedback
from proactif.messaging import _meta_webhooks as meta
from proactif.messaging import _receipts as receipts

router = Router(tags=["messagerie (fournisseurs)"])


def verify_webhook(request: HttpRequest, provider: str, **_: Any) -> None:
    """The provider's signature over the timestamp and the body; the checked payload is kept on the request."""
    try:
        request.webhook_payload = receipts.verify(  # type: ignore[attr-defined]
            provider, request.body, request.headers.get("X-Proactif-Signature", ""),
            request.headers.get("X-Proactif-Timestamp", ""))
    except receipts.BadSignature as exc:
        raise HttpError(401, str(exc)) from exc
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc


def _payload(request: HttpRequest, required: dict[str, str]) -> dict[str, Any]:
    """The signed payload with each field of `required` (name → what it is) present as text: 400 otherwise."""
    payload: dict[str, Any] = request.webhook_payload  # type: ignore[attr-defined]
    for name, meaning in required.items():
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            raise HttpError(400, f"{name} manquant : {meaning}")
    return payload


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The documented body of a webhook (read raw, to check its signature): one JSON object."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


TEXT = {"type": "string"}


@router.post("/receipts/{provider}", summary="Accusé de réception d'un fournisseur", openapi_extra=_body(
    {"id": TEXT, "reference": TEXT, "status": TEXT, "detail": TEXT}, ["status"]))
def receipt(request: HttpRequest, provider: str) -> dict[str, str]:
    payload = _payload(request, {"status": "l'état de distribution (delivered, failed…)"})
    if not (payload.get("reference") or payload.get("id")):
        raise HttpError(400, "reference ou id manquant : le message dont c'est l'accusé")
    return {"outcome": receipts.apply_receipt(provider, payload)}


@router.post("/inbound/{provider}", summary="SMS reçu d'un habitant (STOP, réponse)",
             openapi_extra=_body({"from": TEXT, "text": TEXT}, ["from", "text"]))
def inbound(request: HttpRequest, provider: str) -> dict[str, str]:
    payload = _payload(request, {"from": "le numéro de l'expéditeur", "text": "le texte reçu"})
    return {"kind": receipts.apply_inbound(provider, payload)}


# --- bounces and complaints about e-mails ----------------------------------------------------------------------
def verify_feedback(request: HttpRequest, provider: str, **_: Any) -> None:
    """The e-mail provider's signature over the timestamp and the raw report (PROACTIF_EMAIL_FEEDBACK_SECRETS)."""
    try:
        feedback.verify(provider, request.body, request.headers.get("X-Proactif-Signature", ""),
                        request.headers.get("X-Proactif-Timestamp", ""))
    except receipts.BadSignature as exc:
        raise HttpError(401, str(exc)) from exc


REPORT = {"requestBody": {"required": True, "content": {
    "multipart/report": {"schema": {"type": "string", "format": "binary",
                                    "description": "un DSN (RFC 3464) ou un rapport ARF (RFC 5965), tel quel"}}}}}


class FeedbackOutcome(Schema):
    outcome: str
    applied: int
    already: int
    unknown: int
    stopped: int


@router.post("/email-feedback/{provider}", response={200: FeedbackOutcome, 202: FeedbackOutcome},
             summary="Rebond (DSN) ou plainte (ARF) sur un e-mail envoyé", openapi_extra=REPORT)
def email_feedback(request: HttpRequest, provider: str) -> Status[dict[str, Any]]:
    """Applied: 200. About no message of the outbox (or already received): 202, nothing changed. Not a report:
    400 saying what is expected."""
    try:
        figures = feedback.apply(provider, request.body)
    except feedback.Unreadable as exc:
        raise HttpError(400, str(exc)) from exc
    applied = figures["applied"] > 0
    return Status(200 if applied else 202, {"outcome": "applied" if applied else "ignored", **figures})


# --- WhatsApp Cloud API and Messenger ---------------------------------------------------------------------------
class Handshake(Schema):
    mode: str = Field("", alias="hub.mode")
    verify_token: str = Field("", alias="hub.verify_token")
    challenge: str = Field("", alias="hub.challenge")


class Refusal(Schema):
    detail: str


def _verify_meta(request: HttpRequest, channel: str) -> None:
    try:
        request.webhook_payload = meta.verify(  # type: ignore[attr-defined]
            channel, request.body, request.headers.get("X-Hub-Signature-256", ""))
    except meta.BadSignature as exc:
        raise HttpError(401, str(exc)) from exc
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc


def verify_whatsapp(request: HttpRequest, **_: Any) -> None:
    """WhatsApp's signature: HMAC-SHA256 of the raw body with the app secret (PROACTIF_WHATSAPP_APP_SECRET)."""
    _verify_meta(request, "whatsapp")


def verify_messenger(request: HttpRequest, **_: Any) -> None:
    """Messenger's signature: HMAC-SHA256 of the raw body with the app secret (PROACTIF_MESSENGER_APP_SECRET)."""
    _verify_meta(request, "messenger")


def _events(apply: Any, request: HttpRequest) -> dict[str, dict[str, int]]:
    """The signed events applied; a payload that is not this channel's webhook (another object, no list of
    entries) is a 400 naming what is wrong."""
    try:
        return {"received": apply(request.webhook_payload)}  # type: ignore[attr-defined]
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc


def _handshake(channel: str, query: Handshake) -> HttpResponse:
    try:
        challenge = meta.handshake(channel, query.mode, query.verify_token, query.challenge)
    except meta.Refused as exc:
        raise HttpError(403, str(exc)) from exc
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    return HttpResponse(challenge, content_type="text/plain")


@router.get("/meta/whatsapp", response={200: str, 403: Refusal}, summary="WhatsApp : vérification du webhook")
def whatsapp_handshake(request: HttpRequest, query: Query[Handshake]) -> HttpResponse:
    return _handshake("whatsapp", query)


META_EVENTS = _body({"object": TEXT, "entry": {"type": "array", "items": {"type": "object"}}}, ["object", "entry"])


@router.post("/meta/whatsapp", summary="WhatsApp : messages reçus et états de distribution",
             openapi_extra=META_EVENTS)
def whatsapp_events(request: HttpRequest) -> dict[str, dict[str, int]]:
    return _events(meta.apply_whatsapp, request)


@router.get("/meta/messenger", response={200: str, 403: Refusal}, summary="Messenger : vérification du webhook")
def messenger_handshake(request: HttpRequest, query: Query[Handshake]) -> HttpResponse:
    return _handshake("messenger", query)


@router.post("/meta/messenger", summary="Messenger : messages reçus, distributions et lectures",
             openapi_extra=META_EVENTS)
def messenger_events(request: HttpRequest) -> dict[str, dict[str, int]]:
    return _events(meta.apply_messenger, request)
