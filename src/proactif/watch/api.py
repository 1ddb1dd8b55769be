"""Watch API: FHIR vital-sign observations (R4 or R5, an Observation or a Bundle) from a home device, with its own
token, or from a gateway holding an API key with the scope `watch:ingest`. Readings are stored once per (device,
time, code); a resource that cannot be read is refused naming the field and kept in the dead-letter list; in a
Bundle the good entries are stored and each bad one reported."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from proactif.watch import _telemetry as telemetry
from proactif.watch import fhir

router = Router(tags=["veille"])
FHIR_BODY = {"requestBody": {"required": True, "content": {"application/fhir+json": {"schema": {
    "type": "object", "description": "Observation ou Bundle FHIR R4 ou R5 (signes vitaux, codes LOINC)"}},
    "application/json": {"schema": {"type": "object"}}}}}


def verify_device(request: HttpRequest, serial: str = "", **_: Any) -> None:
    """A device's own token (`Authorization: Bearer <token>`), given once when the device was registered."""
    presented = request.headers.get("Authorization", "")
    token = presented.removeprefix("Bearer ").strip() if presented.startswith("Bearer ") else ""
    if not token or telemetry.device_for_token(serial, token) is None:
        raise HttpError(401, "jeton d'appareil absent ou invalide")


def _store(request: HttpRequest, origin: str, serial: str | None) -> dict[str, Any]:
    if len(request.body) > fhir.MAX_BYTES:
        telemetry.dead_letter("fhir", origin, "ressource de plus de 1 Mo", request.body[:2000])
        raise HttpError(413, "ressource de plus de 1 Mo")
    try:
        readings, errors = fhir.read_bundle(request.body)
        if not readings and len(errors) == 1 and errors[0].entry is None:  # a lone Observation that is refused
            raise errors[0]
    except fhir.FhirError as exc:
        telemetry.dead_letter("fhir", origin, str(exc), request.body)
        raise HttpError(422, str(exc)) from None
    by_device: dict[str, list[fhir.Reading]] = defaultdict(list)
    refused = [{"entree": e.entry, "champ": e.field, "motif": e.reason} for e in errors]
    for reading in readings:
        if serial is not None and reading.device not in (None, serial):
            refused.append({"entree": None, "champ": "Observation.device", "motif": "autre appareil que celui du "
                            "jeton : mesure refusée"})
            continue
        device = serial or reading.device
        if not device:
            refused.append({"entree": None, "champ": "Observation.device", "motif": "appareil non indiqué"})
            continue
        by_device[device].append(reading)
    stored = duplicates = 0
    for device, items in by_device.items():
        try:
            counts = telemetry.ingest(device, items, "fhir")
        except telemetry.UnknownDevice:
            refused.append({"entree": None, "champ": "Observation.device", "motif": f"appareil inconnu : {device}"})
            continue
        stored += counts["stored"]
        duplicates += counts["duplicates"]
    for item in refused:
        telemetry.dead_letter("fhir", origin, f"{item['champ']} : {item['motif']}", request.body)
    return {"stored": stored, "duplicates": duplicates, "refused": refused}


@router.post("/appareils/{serial}/fhir", summary="Mesures FHIR d'un appareil (son propre jeton)",
             openapi_extra=FHIR_BODY)
def device_observations(request: HttpRequest, serial: str) -> dict[str, Any]:
    return _store(request, f"appareil {serial[:64]}", serial[:64])


@router.post("/fhir", summary="Mesures FHIR d'une passerelle (portée watch:ingest)", openapi_extra=FHIR_BODY)
def gateway_observations(request: HttpRequest) -> dict[str, Any]:
    return _store(request, "passerelle", None)
