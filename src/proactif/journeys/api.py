"""Journeys API: the journeys and their funnel, an instance's timeline, and agent takeover."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from proactif.accounts.domain import Caller
from proactif.journeys import services
from proactif.kernel.apischema import Input
from proactif.kernel.ids import Id

router = Router(tags=["parcours"])


class JourneyOut(Schema):
    key: str
    name: str
    version: int
    service: str
    entered: int
    statuses: dict[str, int]
    outcomes: dict[str, int]
    nodes: list[dict[str, Any]]
    conversions: dict[str, dict[str, float]]


class TimelineOut(Schema):
    at: datetime
    kind: str
    title: str
    detail: str
    status: str
    actor: str


class InstanceOut(Schema):
    id: int
    journey: str
    version: int
    person_id: int
    status: str
    node: str
    next_wake_at: datetime | None
    outcome: str
    timeline: list[TimelineOut]


class TakeoverIn(Input):
    action: Literal["pause", "resume", "send", "reminder", "jump", "exit"]
    reason: str
    template: str = ""
    channel: str = ""  # "preferred" or a channel messaging declares (sms, email, whatsapp…)
    text: str = ""
    at: datetime | None = None
    node: str = ""


class TakeoverOut(Schema):
    status: str
    node: str
    message_id: int | None


@router.get("/", response=list[JourneyOut], summary="Parcours publiés et leur entonnoir")
def journeys(request: HttpRequest) -> list[dict[str, Any]]:
    who: Caller = request.auth  # type: ignore[attr-defined]
    out = []
    for d in services.visible_definitions(who.actor):
        out.append({"name": d.name, "version": d.version, "service": d.service, **services.funnel(d.key)})
    return out


def _instance(request: HttpRequest, instance_id: int, purpose: str | None) -> dict[str, Any]:
    who: Caller = request.auth  # type: ignore[attr-defined]
    row = services.get_instance(who.access(purpose), instance_id)
    return {"id": row.pk, "journey": row.journey_key, "version": row.definition.version, "person_id": row.person_id,
            "status": row.status, "node": row.node, "next_wake_at": row.next_wake_at, "outcome": row.outcome,
            "timeline": [vars(e) for e in services.timeline(row)]}


@router.get("/instances/{instance_id}", response=InstanceOut, summary="Un parcours d'habitant et sa chronologie")
def instance(request: HttpRequest, instance_id: Id, purpose: str | None = None) -> dict[str, Any]:
    """La lecture est journalisée avec la finalité invoquée."""
    return _instance(request, instance_id, purpose)


@router.post("/instances/{instance_id}/takeover", response=TakeoverOut, summary="Intervention d'un agent")
def takeover(request: HttpRequest, instance_id: Id, body: TakeoverIn, purpose: str | None = None) -> dict[str, Any]:
    """Pause, reprise, message immédiat, relance programmée, saut d'étape ou sortie — avec un motif,
    journalisé et visible dans la chronologie."""
    who: Caller = request.auth  # type: ignore[attr-defined]
    access = who.access(purpose)
    try:
        message_id = services.takeover(access, instance_id, body.action, body.reason, template=body.template,
                                       channel=body.channel, text=body.text, at=body.at, node=body.node)
    except services.TakeoverError as exc:
        raise HttpError(400, str(exc)) from exc
    row = services.get_instance(access, instance_id)
    return {"status": row.status, "node": row.node, "message_id": message_id}
