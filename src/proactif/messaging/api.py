"""Provider webhooks: delivery receipts and inbound SMS, each signed with the provider's secret
(`X-Proactif-Signature`: hex HMAC-SHA256 of the body), checked before the operation runs (its declared rule)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from proactif.messaging import _receipts as receipts

router = Router(tags=["messagerie (fournisseurs)"])


def verify_webhook(request: HttpRequest, provider: str, **_: Any) -> None:
    """The provider's signature over the body; the checked payload is kept on the request."""
    try:
        request.webhook_payload = receipts.verify(  # type: ignore[attr-defined]
            provider, request.body, request.headers.get("X-Proactif-Signature", ""))
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


@router.post("/receipts/{provider}", summary="Accusé de réception d'un fournisseur")
def receipt(request: HttpRequest, provider: str) -> dict[str, str]:
    payload = _payload(request, {"status": "l'état de distribution (delivered, failed…)"})
    if not (payload.get("reference") or payload.get("id")):
        raise HttpError(400, "reference ou id manquant : le message dont c'est l'accusé")
    return {"outcome": receipts.apply_receipt(provider, payload)}


@router.post("/inbound/{provider}", summary="SMS reçu d'un habitant (STOP, réponse)")
def inbound(request: HttpRequest, provider: str) -> dict[str, str]:
    payload = _payload(request, {"from": "le numéro de l'expéditeur", "text": "le texte reçu"})
    return {"kind": receipts.apply_inbound(provider, payload)}
