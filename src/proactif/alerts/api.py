"""Alerts API: send an alert on an area, its updates and its end; read incidents with their delivery; count
what an area reaches. The same services as the map and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from proactif.accounts.domain import Caller
from proactif.alerts import _feeds as feeds
from proactif.alerts import services
from proactif.geo import services as geo
from proactif.kernel.apischema import Input
from proactif.kernel.ids import Id

router = Router(tags=["alertes"])
TypeCode = Literal["coupure_electricite", "coupure_eau", "inondation", "travaux", "evenement", "autre"]


class TargetIn(Input):
    areas: dict[str, Any] | None = None  # GeoJSON; a Point feature with `radius` (metres) is a circle
    voies: list[Id] = []
    quartiers: list[Id] = []
    adresses: list[Id] = []


class AlertIn(TargetIn):
    type: TypeCode
    titre: str
    texte: str
    texte_en: str = ""
    zone: str = ""  # the area as residents read it (default: the streets and quartiers)
    exercice: bool = False


class MessageIn(Input):
    kind: Literal["mise_a_jour", "fin"]
    texte: str
    texte_en: str = ""


class SentOut(Schema):
    incident: int
    status: str
    recipients: int
    seq: int | None = None
    added: int | None = None
    approval_required: bool = False
    exercise: bool = False


class CountIn(TargetIn):
    type: TypeCode = "autre"  # the alert's type decides its channels (by post only for what is announced ahead)
    exercice: bool = False  # an exercise reaches the test contacts only


class CountOut(Schema):
    addresses: int
    residents: int
    reachable: dict[str, int]  # channel → messages that would leave on it now
    unreachable: int  # messages that would be cancelled: no channel open to the resident
    reasons: dict[str, int]  # why they would be cancelled
    failed: dict[str, int]  # channel → messages that would fail there, every channel tried
    fell_back: dict[str, int]  # channel → messages that would fail there (no template), then go on another
    streets: list[dict[str, Any]]


class IncidentOut(Schema):
    id: int
    type: str
    title: str
    status: str
    exercise: bool
    area: str
    created_at: datetime
    messages: list[dict[str, Any]]
    delivery: dict[str, dict[str, int]]
    answers: dict[str, int]


def _target(body: TargetIn) -> tuple[geo.Target, list[dict[str, Any]]]:
    try:
        features = services.features_of(body.areas) if body.areas else []
    except geo.AreaError as exc:
        raise HttpError(400, f"areas : {exc}") from None
    return geo.Target.of(features, body.voies, body.quartiers, body.adresses), features


@router.post("/count", response=CountOut, summary="Ce qu'une alerte atteindrait : adresses, habitants, canaux")
def count(request: HttpRequest, body: CountIn) -> dict[str, Any]:
    target, _ = _target(body)
    if target.is_empty():
        raise HttpError(400, "aucune zone choisie : areas, voies, quartiers ou adresses")
    return services.preview(target, body.type, body.exercice).summary()


@router.post("/", response={201: SentOut}, summary="Créer un incident et envoyer son alerte (voie urgente)")
def send(request: HttpRequest, body: AlertIn) -> Status[dict[str, Any]]:
    who: Caller = request.auth  # type: ignore[attr-defined]
    target, features = _target(body)
    try:
        _, result = services.open_incident(who.actor, services.Draft(
            body.type, body.titre, features, target.voie_ids, target.quartier_ids, target.address_ids,
            area_label=body.zone, exercise=body.exercice or who.is_test, source="api"),
            {"fr": body.texte, "en": body.texte_en})
    except services.IncidentError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, result)


@router.post("/{incident_id}/messages", response={201: SentOut}, summary="Mise à jour ou fin de l'incident")
def message(request: HttpRequest, incident_id: Id, body: MessageIn) -> Status[dict[str, Any]]:
    who: Caller = request.auth  # type: ignore[attr-defined]
    _exists(incident_id, who)
    try:
        return Status(201, services.send(who.actor, incident_id, body.kind, {"fr": body.texte, "en": body.texte_en}))
    except services.IncidentError as exc:
        raise HttpError(400, str(exc)) from None


def _exists(incident_id: int, who: Caller) -> Any:
    """The incident; a test key sees only exercises (its own alerts are always exercises)."""
    try:
        item = services.get(incident_id)
    except LookupError as exc:
        raise HttpError(404, str(exc)) from None
    if who.is_test and not item.exercise:
        raise HttpError(404, f"incident {incident_id} inconnu")
    return item


@router.get("/{incident_id}", response=IncidentOut, summary="Un incident, ses messages et leur distribution")
def incident(request: HttpRequest, incident_id: Id) -> dict[str, Any]:
    item = _exists(incident_id, request.auth)  # type: ignore[attr-defined]
    stats = services.stats(item)
    return {"id": item.pk, "type": item.type_code, "title": item.title, "status": item.status,
            "exercise": item.exercise, "area": item.area_label, "created_at": item.created_at,
            "messages": [{"seq": m.seq, "kind": m.kind, "sent_at": m.sent_at, "recipients": m.recipients,
                          "texts": m.texts} for m in services.messages_of(item)],
            "delivery": stats["channels"], "answers": stats["answers"]}


@router.get("/{incident_id}/cap/{seq}", summary="Un message de l'incident en CAP 1.2 (XML)")
def cap(request: HttpRequest, incident_id: Id, seq: Id) -> HttpResponse:
    _exists(incident_id, request.auth)  # type: ignore[attr-defined]
    try:
        return HttpResponse(feeds.cap_document(incident_id, seq), content_type="application/cap+xml")
    except LookupError as exc:
        raise HttpError(404, str(exc)) from None
