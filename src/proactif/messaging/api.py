"""Provider webhooks: delivery receipts and inbound SMS, each signed with the provider's secret
(`X-Proactif-Signature`: hex HMAC-SHA256 of the body)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from proactif.messaging import receipts

router = Router(tags=["messagerie (fournisseurs)"])


@router.post("/receipts/{provider}", auth=None, summary="Accusé de réception d'un fournisseur")
def receipt(request: HttpRequest, provider: str) -> dict[str, str]:
    try:
        outcome = receipts.apply_signed_receipt(provider, request.body, request.headers.get("X-Proactif-Signature", ""))
    except receipts.BadSignature as exc:
        raise HttpError(401, str(exc)) from exc
    return {"outcome": outcome}


@router.post("/inbound/{provider}", auth=None, summary="SMS reçu d'un habitant (STOP, réponse)")
def inbound(request: HttpRequest, provider: str) -> dict[str, str]:
    try:
        kind = receipts.apply_signed_inbound(provider, request.body, request.headers.get("X-Proactif-Signature", ""))
    except receipts.BadSignature as exc:
        raise HttpError(401, str(exc)) from exc
    return {"kind": kind}
